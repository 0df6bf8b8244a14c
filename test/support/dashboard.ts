import type { Redis } from "ioredis";
import {
  addOperator as addOperatorToStore,
  revokeOperator as revokeInStore,
} from "../../cli/operators-store.js";
import type { Target } from "../../runner/ports.js";
import { publishTargets } from "../../runner/publish.js";
import { keys } from "../../shared/keys.js";
import { IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";

/** Test helpers of the dashboard's tests (HTTP and browser). */

/** Adds an operator through the CLI's own store and returns its key. */
export const addOperator = async (client: Redis, prefix: string, id: string): Promise<string> => {
  const r = await addOperatorToStore(new IoredisAdapter(client), keys(prefix), {
    operatorId: id,
    replace: true,
  });
  if (r.outcome === "exists") throw new Error(`operator ${id} exists`);
  return r.operatorKey;
};

export const revokeOperator = async (client: Redis, prefix: string, id: string): Promise<void> => {
  await revokeInStore(new IoredisAdapter(client), keys(prefix), id);
};

/** Publishes targets and a runner record through the runner's own publishing code. */
export const publishAsRunner = (client: Redis, prefix: string, runnerId: string, targets: Target[]) =>
  publishTargets({
    redis: new IoredisAdapter(client),
    keys: keys(prefix),
    catalog: { list: async () => targets },
    runnerId,
    intervalMs: 60_000,
    clock: Date.now,
    describe: () => ({ started_at: new Date().toISOString(), in_hand: null, held: 0 }),
    onInvalid: (target, reason) => {
      throw new Error(`invalid target ${target}: ${reason}`);
    },
  });

/** The `name=value` of the session cookie a sign-in response set, for the next request's Cookie header. */
export const sessionCookie = (res: Response): string => {
  const set = res.headers.get("set-cookie") ?? "";
  const pair = /^(hypercode_operator=[^;]*)/.exec(set)?.[1];
  if (!pair) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return pair;
};

/** How a test reaches an intake: in process (`app.request`) or over HTTP; redirects are not followed. */
export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

export const httpFetcher =
  (baseUrl: string): Fetcher =>
  (path, init) =>
    fetch(new URL(path, baseUrl), { ...init, redirect: "manual" });

/** Posts the sign-in form as a browser does. */
export const postSignIn = (fetcher: Fetcher, key: string, headers: Record<string, string> = {}) =>
  fetcher("/dashboard/session", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ key }).toString(),
  });
