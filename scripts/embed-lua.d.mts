/** One script's source with its `-- @include` lines expanded; see embed-lua.mjs. */
export declare const assemble: (name: string) => string;
/** The text of shared/lua/scripts.generated.ts as it should be now. */
export declare const generate: () => string;
