/**
 * Every refusal a Lua script can answer with (`fail(code)` in shared/lua/include/json_reply.lua),
 * by script. A test reads the scripts and fails when one can return a code missing here, or when a
 * code here is returned by no script; callers switch over these codes with exhaustiveness checked.
 */
const AUTH = ["unauthenticated", "revoked"] as const;

export const SCRIPT_REFUSALS = {
  agent_put: ["exists"],
  key_revoke: ["already_revoked", "not_found"],
  agents_list: [],
  authenticate: [...AUTH],
  dashboard: [...AUTH],
  direct_admit: [
    "unknown_agent",
    "revoked",
    "target_out_of_scope",
    "action_out_of_scope",
    "agent_rate_limited",
    "target_budget_exhausted",
  ],
  dlq_drop: [],
  dlq_list: [],
  dlq_replay: ["mismatch", "no_fields", "not_dead_lettered", "not_found"],
  entry_redeliver: ["gone", "not_owner"],
  entry_touch: [],
  feed_close: [],
  feed_open: ["too_many_feeds"],
  lock_acquire: ["locked"],
  lock_release: ["not_owner"],
  lock_renew: ["lost"],
  operator_authenticate: [...AUTH],
  operator_put: ["exists"],
  operators_list: [],
  read_request: [...AUTH, "not_found"],
  read_targets: [...AUTH],
  read_webhook_keys: [],
  request_note: ["not_found"],
  submit: [
    ...AUTH,
    "target_out_of_scope",
    "action_out_of_scope",
    "no_targets_published",
    "target_not_enabled",
    "target_expired",
    "action_not_enabled",
    "callback_not_allowed",
    "idempotency_key_reused",
    "request_id_reused",
    "agent_rate_limited",
    "target_budget_exhausted",
  ],
  targets_publish: [],
  transition: ["invalid_transition", "not_found"],
  webhook_key_publish: [],
} as const satisfies Record<string, readonly string[]>;

export type ScriptName = keyof typeof SCRIPT_REFUSALS;
/** The codes script `S` can refuse with. */
export type RefusalOf<S extends ScriptName> = (typeof SCRIPT_REFUSALS)[S][number];
export type RefusalCode = RefusalOf<ScriptName>;

/** A script's refusal: its code and whatever the script said about it (limits, the current state, …). */
export interface Refusal<C extends RefusalCode = RefusalCode> {
  readonly ok: false;
  readonly error: C;
  readonly [detail: string]: unknown;
}

/** One script's JSON reply: `T` (with `ok: true`) or one of its refusals. */
export type ScriptReply<T extends object, S extends ScriptName> = ({ ok: true } & T) | Refusal<RefusalOf<S>>;
