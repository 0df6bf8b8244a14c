/** An intake served over real HTTP, on some runtime, writing under `prefix`. */
export interface IntakeHarness {
  readonly runtime: "node" | "workers";
  readonly baseUrl: string;
  readonly prefix: string;
  stop(): Promise<void>;
}

export const jsonPost = (
  baseUrl: string,
  path: string,
  key: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  fetch(new URL(path, baseUrl), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

export const authedGet = (baseUrl: string, path: string, key?: string) =>
  fetch(new URL(path, baseUrl), { headers: key ? { authorization: `Bearer ${key}` } : {} });
