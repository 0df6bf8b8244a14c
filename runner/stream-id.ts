/** Stream entry ids (`<ms>-<seq>`) compared as numbers: as strings, "9-0" would sort after "10-0". */
const parts = (id: string): [bigint, bigint] => {
  const [ms = "0", seq = "0"] = id.split("-");
  return [BigInt(ms), BigInt(seq)];
};

export const compareIds = (a: string, b: string): number => {
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
};

export const minId = (...ids: (string | undefined)[]): string | undefined =>
  ids.reduce<string | undefined>(
    (m, id) => (id === undefined || (m !== undefined && compareIds(m, id) <= 0) ? m : id),
    undefined,
  );

/** The time part of an entry id: when Redis appended it. */
export const idTime = (id: string): number => Number(id.split("-")[0]);
