import type { RedisArg, RedisPort } from "../../shared/redis/port.js";

/** Counts what an app asks of Redis, to hold it to a number of round trips. */
export class CountingPort implements RedisPort {
  calls: string[] = [];
  constructor(private readonly inner: RedisPort) {}
  evalsha(sha1: string, keys: readonly string[], args: readonly RedisArg[]) {
    this.calls.push("evalsha");
    return this.inner.evalsha(sha1, keys, args);
  }
  eval(source: string, keys: readonly string[], args: readonly RedisArg[]) {
    this.calls.push("eval");
    return this.inner.eval(source, keys, args);
  }
  ping() {
    this.calls.push("ping");
    return this.inner.ping();
  }
}
