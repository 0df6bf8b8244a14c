/** A Lua script embedded at build time, with the SHA-1 that `SCRIPT LOAD` must return for it. */
export interface LuaScript {
  readonly name: string;
  readonly sha1: string;
  readonly source: string;
}
