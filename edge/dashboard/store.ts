import { type Keys, RUNNER_GROUP } from "../../shared/keys.js";
import { SCRIPTS } from "../../shared/lua/scripts.generated.js";
import type { Refusal, RefusalOf, ScriptReply } from "../../shared/protocol/index.js";
import type { RedisPort } from "../../shared/redis/port.js";
import { runJsonScript } from "../../shared/redis/run-script.js";
import { type DashboardData, type DashboardReply, toDashboardData } from "./data.js";
import type { OperatorKey } from "./session.js";

/** How much one refresh reads: enough to fill the page, bounded whatever the streams hold. */
const RECENT_REQUESTS = 25;
const STATUS_ENTRIES_SCANNED = 1000;
const EVENTS_PER_REQUEST = 50;
/** A request may list 256 changed files and 16 KiB of test results: a row shows the start. */
export const FILES_PER_REQUEST = 20;
export const TEST_RESULTS_BYTES = 600;

export type SignInResult = ScriptReply<
  { operator: { operator_id: string; created_at: string } },
  "operator_authenticate"
>;
export type DashboardResult = { ok: true; data: DashboardData } | Refusal<RefusalOf<"dashboard">>;

/** The dashboard's reads: one script each, so a refresh is one round trip on any runtime. */
export class DashboardStore {
  constructor(
    private readonly redis: RedisPort,
    private readonly keys: Keys,
  ) {}

  signIn(key: OperatorKey): Promise<SignInResult> {
    return runJsonScript<SignInResult>(
      this.redis,
      SCRIPTS.operator_authenticate,
      [this.keys.operator(key.operatorId)],
      [key.keyHash],
    );
  }

  /** Checks the operator's key and reads everything the page shows, in the same call. */
  async read(key: OperatorKey, now: number): Promise<DashboardResult> {
    const k = this.keys;
    const requestPrefix = k.request("");
    const reply = await runJsonScript<DashboardReply | Refusal<RefusalOf<"dashboard">>>(
      this.redis,
      SCRIPTS.dashboard,
      [k.operator(key.operatorId), k.requestStream, k.deadLetterStream, k.runners, k.targets, k.statusStream],
      [
        key.keyHash,
        RUNNER_GROUP,
        RECENT_REQUESTS,
        STATUS_ENTRIES_SCANNED,
        EVENTS_PER_REQUEST,
        requestPrefix,
        k.requestEvents("").slice(requestPrefix.length),
        FILES_PER_REQUEST,
        TEST_RESULTS_BYTES,
      ],
    );
    if (!reply.ok) return reply;
    return { ok: true, data: toDashboardData(reply, k.requestStream, now) };
  }
}
