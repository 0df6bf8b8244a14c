/**
 * The Upstash REST wire format, both ways: JSON command arrays in, `{result}` / `{error}` out.
 * Kept apart from the HTTP server so the rules read in one place.
 */

/** A request the bridge refuses before it reaches Redis; carries its HTTP status. */
export class BridgeRequestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401 | 404 | 413 = 400,
  ) {
    super(message);
    this.name = "BridgeRequestError";
  }
}

export type Command = readonly [name: string, ...args: string[]];

/**
 * Commands that would change or block the one connection every request shares (a SELECT would
 * move everyone to another database, a SUBSCRIBE would stop all replies), so they are refused.
 */
const CONNECTION_COMMANDS = new Set([
  "AUTH",
  "CLIENT",
  "DISCARD",
  "EXEC",
  "HELLO",
  "MONITOR",
  "MULTI",
  "PSUBSCRIBE",
  "PUNSUBSCRIBE",
  "QUIT",
  "READONLY",
  "READWRITE",
  "RESET",
  "SELECT",
  "SSUBSCRIBE",
  "SUBSCRIBE",
  "SUNSUBSCRIBE",
  "UNSUBSCRIBE",
  "UNWATCH",
  "WATCH",
]);
const BLOCKING_COMMANDS = new Set([
  "BLMOVE",
  "BLMPOP",
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BZMPOP",
  "BZPOPMAX",
  "BZPOPMIN",
  "WAIT",
  "WAITAOF",
]);

const isBlocking = (name: string, args: readonly string[]): boolean =>
  BLOCKING_COMMANDS.has(name) ||
  ((name === "XREAD" || name === "XREADGROUP") && args.some((a) => a.toUpperCase() === "BLOCK"));

const EXAMPLE = 'e.g. ["SET","key","value"]';

/** One command: a non-empty array of strings, numbers or booleans (sent to Redis as text). */
export const parseCommand = (value: unknown, where = "the body"): Command => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeRequestError(`${where} must be a non-empty JSON array, ${EXAMPLE}`);
  }
  const parts = value.map((v, i) => {
    if (typeof v === "string") return v;
    if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return String(v);
    const what = v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
    throw new BridgeRequestError(`element ${i} of ${where} is ${what}; only strings and numbers are allowed`);
  });
  const [name, ...args] = parts as [string, ...string[]];
  const upper = name.toUpperCase();
  if (CONNECTION_COMMANDS.has(upper) || isBlocking(upper, args)) {
    throw new BridgeRequestError(
      `ERR the REST bridge does not run '${name}': it would change or block the connection all requests share`,
    );
  }
  return [name, ...args];
};

/** `/pipeline` and `/multi-exec`: a non-empty array of commands. */
export const parseCommandList = (value: unknown): Command[] => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeRequestError(
      `the body must be a non-empty JSON array of commands, e.g. [${EXAMPLE.slice(5)}]`,
    );
  }
  return value.map((v, i) => parseCommand(v, `command ${i}`));
};

export type Json = string | number | null | Json[];

/**
 * A Redis reply as Upstash sends it. With `Upstash-Encoding: base64` every string, nested ones
 * included, is the base64 of its bytes, so replies that are not UTF-8 survive JSON; numbers and
 * nil stay as they are (this is what @upstash/redis's `decode` expects).
 */
export const encodeReply = (reply: unknown, base64: boolean): Json => {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return reply.toString(base64 ? "base64" : "utf8");
  if (typeof reply === "string") return base64 ? Buffer.from(reply).toString("base64") : reply;
  if (Array.isArray(reply)) return reply.map((r) => encodeReply(r, base64));
  // An error nested in an array (a Lua table holding redis.error_reply): JSON has no place for
  // it, so it travels as its text.
  if (reply instanceof Error) return encodeReply(reply.message, base64);
  return encodeReply(String(reply), base64);
};
