import { type Keys, keys as keysFor } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import type {
  AgentRecord,
  ImprovementRequest,
  PublishedTarget,
  Refusal,
  RefusalOf,
  ScriptReply,
  WebhookKeyRecord,
} from "../shared/protocol/index.js";
import { webhookKeyRecord } from "../shared/protocol/index.js";
import type { RedisPort } from "../shared/redis/port.js";
import { asList, runJsonScript } from "../shared/redis/run-script.js";
import type { PresentedKey } from "./auth.js";
import type { IntakeConfig } from "./config.js";

type Agent = Pick<
  AgentRecord,
  "agent_id" | "targets" | "actions" | "rate_limit" | "rate_window_ms" | "created_at"
>;

export type SubmitResult =
  | ScriptReply<
      {
        replayed?: false;
        request_id: string;
        entry_id: string;
        rate: { limit: number; remaining: number; reset_ms: number; window_ms: number };
      },
      "submit"
    >
  | { ok: true; replayed: true; request_id: string; created_at: string };

export type AuthResult = ScriptReply<{ agent: Agent }, "authenticate">;
export type ReadRequestResult = ScriptReply<
  { status: Record<string, string>; events: Array<Record<string, string>> },
  "read_request"
>;
export type ReadTargetsResult = ScriptReply<{ agent: Agent; targets: PublishedTarget[] }, "read_targets">;
export type FeedOpenResult = ScriptReply<object, "feed_open">;
/** What the intake may have to turn into a problem: any refusal of the scripts it runs. */
export type IntakeRefusal = Refusal<RefusalOf<"submit" | "read_request" | "read_targets" | "feed_open">>;

export interface Submission {
  key: PresentedKey;
  request: ImprovementRequest;
  /** SHA-256 of the Idempotency-Key, when one was sent. */
  idempotencyKeyHash?: string;
  /** SHA-256 of the request's fingerprintText: what a retry must match. */
  fingerprint: string;
  /** The agent named the request itself (`id`): the id may already be taken. */
  agentChoseId: boolean;
  now: number;
}

const MAX_EVENTS = 500;

const normaliseAgent = (a: Agent): Agent => ({
  ...a,
  targets: asList(a.targets),
  actions: asList(a.actions),
});

/** The intake's operations on Redis: each one Lua script, so each one round trip. */
export class IntakeStore {
  readonly keys: Keys;

  constructor(
    private readonly redis: RedisPort,
    private readonly config: IntakeConfig,
  ) {
    this.keys = keysFor(config.keyPrefix);
  }

  async submit(s: Submission): Promise<SubmitResult> {
    const k = this.keys;
    const { request } = s;
    const c = this.config;
    const r = await runJsonScript<SubmitResult>(
      this.redis,
      SCRIPTS.submit,
      [
        k.agent(s.key.agentId),
        k.targets,
        k.idempotency(s.key.agentId, s.idempotencyKeyHash ?? "-"),
        k.agentRate(s.key.agentId),
        k.targetBudget(request.target_agent),
        k.requestStream,
        k.request(request.request_id),
        k.statusStream,
        k.requestEvents(request.request_id),
      ],
      [
        s.key.keyHash,
        s.now,
        request.request_id,
        request.target_agent,
        request.payload.action,
        JSON.stringify(request),
        s.idempotencyKeyHash ? "1" : "0",
        s.fingerprint,
        c.idempotencyTtlMs,
        c.targetBudget.limit,
        c.targetBudget.windowMs,
        c.statusTtlMs,
        request.created_at,
        c.statusStreamMaxLen,
        request.callback_url ?? "",
        s.agentChoseId ? "1" : "0",
      ],
    );
    return r;
  }

  async authenticate(key: PresentedKey): Promise<AuthResult> {
    const r = await runJsonScript<AuthResult>(
      this.redis,
      SCRIPTS.authenticate,
      [this.keys.agent(key.agentId)],
      [key.keyHash],
    );
    return r.ok ? { ok: true, agent: normaliseAgent(r.agent) } : r;
  }

  /** The request's status and its timeline, or only the events after `afterEventId`. */
  async readRequest(key: PresentedKey, requestId: string, afterEventId = ""): Promise<ReadRequestResult> {
    const k = this.keys;
    const r = await runJsonScript<ReadRequestResult>(
      this.redis,
      SCRIPTS.read_request,
      [k.agent(key.agentId), k.request(requestId), k.requestEvents(requestId)],
      [key.keyHash, MAX_EVENTS, afterEventId],
    );
    return r.ok ? { ...r, events: asList(r.events) } : r;
  }

  async readTargets(key: PresentedKey, now: number): Promise<ReadTargetsResult> {
    const k = this.keys;
    const r = await runJsonScript<ReadTargetsResult>(
      this.redis,
      SCRIPTS.read_targets,
      [k.agent(key.agentId), k.targets],
      [key.keyHash, now],
    );
    if (!r.ok) return r;
    return {
      ok: true,
      agent: normaliseAgent(r.agent),
      targets: asList<PublishedTarget>(r.targets)
        .map((t) => ({ ...t, actions: asList<PublishedTarget["actions"][number]>(t.actions) }))
        .sort((a, b) => a.target.localeCompare(b.target)),
    };
  }

  /** Takes one of the agent's live-feed places until `lapsesAt`, unless all are taken. */
  async openFeed(agentId: string, feedId: string, now: number, lapsesAt: number): Promise<FeedOpenResult> {
    return runJsonScript<FeedOpenResult>(
      this.redis,
      SCRIPTS.feed_open,
      [this.keys.agentFeeds(agentId)],
      [now, lapsesAt, feedId, this.config.feedsPerAgent],
    );
  }

  async closeFeed(agentId: string, feedId: string): Promise<void> {
    await runJsonScript(this.redis, SCRIPTS.feed_close, [this.keys.agentFeeds(agentId)], [feedId]);
  }

  /** The webhook public keys runners published and that have not expired, oldest expiry first. */
  async readWebhookKeys(now: number): Promise<WebhookKeyRecord[]> {
    const r = await runJsonScript<ScriptReply<{ keys: unknown }, "read_webhook_keys">>(
      this.redis,
      SCRIPTS.read_webhook_keys,
      [this.keys.webhookKeys],
      [now],
    );
    if (!r.ok) return [];
    // A record that does not parse is not served: a receiver could not use it anyway.
    return asList<string>(r.keys)
      .flatMap((raw) => {
        try {
          const parsed = webhookKeyRecord.safeParse(JSON.parse(raw));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => a.expires_at - b.expires_at || a.kid.localeCompare(b.kid));
  }

  ping(): Promise<void> {
    return this.redis.ping();
  }
}
