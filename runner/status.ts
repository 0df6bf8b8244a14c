import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import {
  allowedFrom,
  carriesOf,
  fingerprintText,
  type ImprovementRequest,
  isTerminal,
  type Refusal,
  type RefusalOf,
  type RequestState,
  type StatusField,
} from "../shared/protocol/index.js";
import type { IoredisAdapter } from "../shared/redis/ioredis-adapter.js";
import type { RedisArg } from "../shared/redis/port.js";
import { runJsonScript } from "../shared/redis/run-script.js";

export interface Move {
  /** One line a human reads in the status and the timeline. */
  readonly detail?: string;
  /** Fields stored with the move (empty and undefined values are left out). */
  readonly fields?: Partial<Record<StatusField, string | number | undefined>>;
  /** Creates the record with these fields if there is none (entries agents wrote straight to the stream). */
  readonly create?: Record<string, string>;
  /** The states the move may start from; by default those the state machine allows. */
  readonly from?: readonly RequestState[];
}

export type MoveResult =
  | { ok: true; from: RequestState | null }
  | (Refusal<RefusalOf<"transition">> & { current?: RequestState });

export interface StatusHead {
  readonly state?: RequestState;
  readonly entryId?: string;
  readonly runnerId?: string;
  readonly agentId?: string;
  /** What the request asked for, hashed (fingerprintOf): tells a retry from a reused id. */
  readonly fingerprint?: string;
}

export interface StatusOptions {
  readonly ttlMs: number;
  readonly streamMaxLen: number;
}

/** The same hash the intake stores (SHA-256 hex of fingerprintText), so both sides compare. */
export const fingerprintOf = (request: ImprovementRequest): string =>
  createHash("sha256").update(fingerprintText(request)).digest("hex");

/** What a status record holds about its request, for entries that have no record yet. */
export const recordFields = (
  request: ImprovementRequest,
  entryId: string,
): Partial<Record<StatusField, string>> & Record<string, string> => ({
  agent_id: request.agent_id,
  target_agent: request.target_agent,
  action: request.payload.action,
  entry_id: entryId,
  request: JSON.stringify(request),
  created_at: request.created_at,
  fingerprint: fingerprintOf(request),
});

/**
 * Request status records. Every change goes through transition.lua, which checks the state
 * machine, and appends the move to the status stream and the request's timeline, in one step.
 */
export class StatusStore {
  private readonly redis: Redis;

  constructor(
    private readonly scripts: IoredisAdapter,
    private readonly keys: Keys,
    private readonly opts: StatusOptions,
    private readonly clock: () => number,
    /** Told of every move into a final state (webhooks hang off it). */
    private readonly onFinal: (requestId: string, state: RequestState) => void = () => {},
  ) {
    this.redis = scripts.client;
  }

  /** For moves made outside `move()` (inside a MULTI): announces that a request is finished. */
  finalised(requestId: string, state: RequestState): void {
    if (isTerminal(state)) this.onFinal(requestId, state);
  }

  /** The script call for a move, for callers that must run it inside a MULTI with other commands. */
  call(requestId: string, to: RequestState, move: Move = {}): { keys: string[]; args: RedisArg[] } {
    const from = move.from ?? allowedFrom(to);
    const extra = Object.entries(move.fields ?? {}).flatMap(([k, v]) =>
      v === undefined || v === "" ? [] : [k, String(v)],
    );
    return {
      keys: [this.keys.request(requestId), this.keys.statusStream, this.keys.requestEvents(requestId)],
      args: [
        requestId,
        to,
        `,${from.join(",")},`,
        new Date(this.clock()).toISOString(),
        move.detail ?? "",
        this.opts.ttlMs,
        this.opts.streamMaxLen,
        move.create ? JSON.stringify(move.create) : "",
        ...extra,
      ],
    };
  }

  async move(requestId: string, to: RequestState, move: Move = {}): Promise<MoveResult> {
    const { keys, args } = this.call(requestId, to, move);
    const result = await runJsonScript<MoveResult>(this.scripts, SCRIPTS.transition, keys, args);
    if (result.ok) this.finalised(requestId, to);
    return result;
  }

  /** The record's state, the stream entry it belongs to, the runner that last ran it and whose it is. */
  async head(requestId: string): Promise<StatusHead> {
    const [state, entryId, runnerId, agentId, fingerprint] = await this.redis.hmget(
      this.keys.request(requestId),
      "state",
      "entry_id",
      "runner_id",
      "agent_id",
      "fingerprint",
    );
    return {
      state: (state ?? undefined) as RequestState | undefined,
      entryId: entryId ?? undefined,
      runnerId: runnerId ?? undefined,
      agentId: agentId ?? undefined,
      fingerprint: fingerprint ?? undefined,
    };
  }

  /**
   * A line in the request's timeline that changes nothing else, and a counter beside it
   * (`duplicates`): for a second entry with the same id, acknowledged without being run.
   */
  async note(requestId: string, detail: string, counter: string): Promise<void> {
    await runJsonScript(
      this.scripts,
      SCRIPTS.request_note,
      [this.keys.request(requestId), this.keys.requestEvents(requestId)],
      [new Date(this.clock()).toISOString(), detail, counter, this.opts.ttlMs],
    );
  }

  /** Remembers on a carrier which requests its deploy carries out, to announce them when it ends. */
  async addCarried(carrierId: string, carried: readonly string[]): Promise<void> {
    if (carried.length === 0) return;
    const key = this.keys.request(carrierId);
    const before = carriesOf((await this.redis.hget(key, "carries")) ?? undefined);
    await this.redis.hset(key, "carries", JSON.stringify([...new Set([...before, ...carried])]));
  }
}
