/**
 * Reads a stream to its end as UTF-8, or stops once it is longer than `maxBytes` (undefined then):
 * a body larger than any intake accepts is refused before it fills memory.
 */
export const readBounded = async (
  stream: AsyncIterable<Buffer | string>,
  maxBytes: number,
): Promise<string | undefined> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > maxBytes) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
};
