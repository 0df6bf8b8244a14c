import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Keys } from "../shared/keys.js";
import { type RequestState, STATUS_RESULT_FIELDS } from "../shared/protocol/index.js";
import { callbackAllowed, SIGNATURE_HEADER, signWebhook, type WebhookSigningKey } from "../shared/webhook.js";

export interface NotifierDeps {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly log: Logger;
  readonly clock: () => number;
  /** The runner's signing key (runner/webhook-key.ts); settled before the first request is read. */
  readonly signingKey: Promise<WebhookSigningKey>;
  readonly fetch?: typeof fetch;
  /** Tries per webhook, and the pause before try n is n × `retryMs`. */
  readonly attempts?: number;
  readonly retryMs?: number;
  readonly timeoutMs?: number;
}

/** Status fields a receiver gets besides the core ones, when the runner recorded them. */

/**
 * Posts a finished request's status to the callback URL its agent gave, signed with the runner's
 * own key (shared/webhook.ts). Best effort, off the job's path: a few tries with a pause, the
 * outcome recorded in the status (`webhook`), and the agent can always GET the status instead.
 * The URL is checked again here against the agent's record: the intake checked it, but Redis is
 * not a trust boundary, and a runner must not be made to POST anywhere a stream entry says.
 */
export class WebhookNotifier {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotifierDeps) {}

  /** Starts delivery in the background; `settled()` waits for all started ones. */
  finished(requestId: string, state: RequestState): void {
    const p = this.deliver(requestId, state).catch((err) =>
      this.deps.log.warn({ err, request_id: requestId }, "webhook delivery crashed"),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(requestId: string, state: RequestState): Promise<void> {
    const { redis, keys, log } = this.deps;
    const status = await redis.hgetall(keys.request(requestId));
    let callback: unknown;
    try {
      callback = (JSON.parse(status.request ?? "{}") as { callback_url?: unknown }).callback_url;
    } catch {
      return;
    }
    if (typeof callback !== "string" || !status.agent_id) return;
    const callbacks = await redis.hget(keys.agent(status.agent_id), "callbacks");
    let prefixes: unknown;
    try {
      prefixes = JSON.parse(callbacks ?? "[]");
    } catch {
      prefixes = [];
    }
    if (!Array.isArray(prefixes) || !callbackAllowed(callback, prefixes as string[])) {
      await this.record(requestId, "refused: callback_url is not allowed by the agent's record");
      log.warn(
        { request_id: requestId, callback },
        "webhook refused: callback_url not allowed for the agent",
      );
      return;
    }
    const body = JSON.stringify({
      request_id: requestId,
      agent_id: status.agent_id,
      target_agent: status.target_agent,
      action: status.action,
      status: state,
      detail: status.detail ?? null,
      updated_at: status.updated_at,
      ...Object.fromEntries(STATUS_RESULT_FIELDS.filter((f) => status[f]).map((f) => [f, status[f]])),
    });
    const signingKey = await this.deps.signingKey;
    const attempts = this.deps.attempts ?? 3;
    let last = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const signature = await signWebhook(signingKey, Math.floor(this.deps.clock() / 1000), body);
        const res = await (this.deps.fetch ?? fetch)(callback, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: signature,
            // Receivers may see a webhook twice (a retry after a lost answer): this names it.
            "Hypercode-Delivery": `${requestId}:${state}`,
          },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(this.deps.timeoutMs ?? 5000),
        });
        await res.body?.cancel();
        if (res.ok) {
          await this.record(requestId, `delivered (HTTP ${res.status})`);
          log.info({ request_id: requestId, status: res.status }, "webhook delivered");
          return;
        }
        last = `HTTP ${res.status}`;
        // A 4xx other than 408/429 will not change on a retry.
        if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (attempt < attempts) await sleep(attempt * (this.deps.retryMs ?? 1000));
    }
    await this.record(requestId, `failed: ${last}`);
    log.warn({ request_id: requestId, error: last }, "webhook delivery failed");
  }

  private async record(requestId: string, outcome: string): Promise<void> {
    await this.deps.redis.hset(this.deps.keys.request(requestId), "webhook", outcome).catch(() => {});
  }
}
