import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import {
  type Accepted,
  acceptedSchema,
  problemSchema,
  type StatusView,
  statusViewSchema,
  type TargetsView,
  targetsSchema,
} from "../shared/protocol/http.js";
import { DEFAULT_INTAKE_URL, readEnv, requireEnv } from "./env.js";
import { CliError } from "./errors.js";
import { readSse, type SseEvent } from "./sse.js";

/**
 * The agent's side of the intake's HTTP API (see GET /openapi.json), for the CLI. Answers are
 * checked with the same zod schemas the intake builds them from; refusals become errors that
 * print the intake's own title and detail with a hint at what to do.
 */

type Problem = z.infer<typeof problemSchema>;

const PROBLEM_TYPE = "urn:hypercode:problem:";

const hintFor = (status: number, code: string, path: string, retryAfter: string | undefined): string => {
  switch (status) {
    case 401:
      return "Check HYPERCODE_KEY: it must be this agent's current key as 'hypercode agents add' printed it; a revoked or replaced key needs a new one from an operator.";
    case 403:
      return "This agent's key does not allow that. An operator can change its scope with 'hypercode agents add <agent_id> --targets ... --actions ... --replace' (which issues a new key).";
    case 404:
      return path.startsWith("/v1/improvements/")
        ? "Check the request id, and that HYPERCODE_KEY is the key of the agent that submitted it: an agent sees only its own requests."
        : "Check HYPERCODE_URL: it must be the intake's address.";
    case 422:
      if (code === "target-not-enabled" || code === "action-not-enabled")
        return "'hypercode targets' lists the targets and actions this key may request now.";
      if (code === "idempotency-key-reused")
        return "Use a new --idempotency-key for a new request, or leave it out: a fresh one is generated.";
      return "Fix what is listed above; 'hypercode submit --help' describes each option.";
    case 429:
      return `Retry after ${retryAfter ?? "a while"} s (Retry-After); nothing was submitted.`;
    case 503:
      return `The intake cannot reach its Redis; nothing was written. Retry${retryAfter ? ` after ${retryAfter} s` : " later"}.`;
    default:
      return status >= 500 ? "The intake failed; its log says why." : "";
  }
};

/** The intake refused or failed a call, and said why in a problem+json body. */
export class IntakeProblemError extends CliError {
  readonly code: string;

  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly path: string,
    readonly retryAfter?: string,
  ) {
    const fields = (problem.errors ?? []).map((e) => `  ${e.path || "(body)"}: ${e.message}`);
    const code = problem.type.startsWith(PROBLEM_TYPE) ? problem.type.slice(PROBLEM_TYPE.length) : "";
    const hint = hintFor(status, code, path, retryAfter);
    // Validation problems list their fields below, so the detail (the same list on one line) is left out.
    const head = fields.length > 0 ? problem.title : `${problem.title}: ${problem.detail}`;
    super([head, ...fields, ...(hint ? [hint] : [])].join("\n"));
    this.code = code;
  }
}

/** Nothing answered at HYPERCODE_URL (after the retries). */
export class IntakeUnreachableError extends CliError {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** A connection was made, so the request may have reached the intake before it failed. */
    readonly maybeDelivered: boolean,
  ) {
    super(
      `cannot reach the intake at ${url}: ${reason} (set HYPERCODE_URL; 'hypercode up' or 'hypercode intake' serves one)`,
    );
  }
}

/** Something answered, but not as a HyperCode intake does. */
export class IntakeAnswerError extends CliError {
  constructor(url: string, what: string) {
    super(`unexpected answer from ${url}: ${what} (is HYPERCODE_URL the intake's address?)`);
  }
}

export interface IntakeClientOptions {
  /** How many times a call is sent again after a network error or a 502/503/504 (default 2). */
  readonly retries?: number;
  /** How long one call may take until its answer's headers arrive (default 10 s). */
  readonly timeoutMs?: number;
}

// Connection errors that prove nothing was sent: retrying them can never submit twice.
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const RETRY_STATUS = new Set([502, 503, 504]);
const MAX_RETRY_AFTER_S = 5;

const networkReason = (err: unknown, timeoutMs: number): { reason: string; connected: boolean } => {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError") return { reason: `no answer within ${timeoutMs / 1000} s`, connected: true };
  const code = e.cause?.code ?? "";
  return { reason: e.cause?.message ?? e.message ?? String(err), connected: !NOT_CONNECTED.has(code) };
};

export class IntakeClient {
  private readonly retries: number;
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    private readonly key: string,
    opts: IntakeClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.retries = opts.retries ?? 2;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** POST /v1/improvements. `replayed`: the Idempotency-Key was seen before, this is the first answer. */
  async submit(body: unknown, idempotencyKey: string): Promise<{ accepted: Accepted; replayed: boolean }> {
    const res = await this.send("POST", "/v1/improvements", {
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
    });
    const accepted = await this.parse(res, acceptedSchema);
    return { accepted, replayed: res.headers.get("idempotent-replayed") === "true" };
  }

  /** GET /v1/improvements/:id: the request's status and timeline. */
  async status(requestId: string): Promise<StatusView> {
    return this.parse(await this.send("GET", this.requestPath(requestId)), statusViewSchema);
  }

  /** GET /v1/targets: what this key may request now. */
  async targets(): Promise<TargetsView> {
    return this.parse(await this.send("GET", "/v1/targets"), targetsSchema);
  }

  /**
   * GET /v1/improvements/:id/events: one connection of the live feed, from after `lastEventId`.
   * Refusals (a wrong key or id) are thrown before the first event; the events end when the
   * intake closes the stream, after `end` or early (its FEED_MAX), and then the caller resumes.
   */
  async events(requestId: string, lastEventId?: string): Promise<AsyncGenerator<SseEvent>> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const res = await this.send("GET", `${this.requestPath(requestId)}/events`, { headers, stream: true });
    if (!res.body || !(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      await res.body?.cancel();
      throw new IntakeAnswerError(this.baseUrl, "the status feed is not an event stream");
    }
    return readSse(res.body);
  }

  private requestPath(requestId: string): string {
    return `/v1/improvements/${encodeURIComponent(requestId)}`;
  }

  /**
   * One call, sent again after a network error or a 502/503/504. Safe for POST too: the CLI
   * always sends an Idempotency-Key, so the intake answers a repeat with the first answer.
   */
  private async send(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; stream?: boolean } = {},
  ): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    let connected = false;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.retries;
      let res: Response;
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new DOMException("timed out", "TimeoutError")),
        this.timeoutMs,
      );
      try {
        res = await fetch(url, {
          method,
          body: init.body,
          headers: { Authorization: `Bearer ${this.key}`, ...init.headers },
          signal: abort.signal,
        });
      } catch (err) {
        clearTimeout(timer);
        const failure = networkReason(err, this.timeoutMs);
        connected ||= failure.connected;
        if (last) throw new IntakeUnreachableError(this.baseUrl, failure.reason, connected);
        await sleep(200 * 4 ** attempt);
        continue;
      }
      // A stream is read for as long as the intake keeps it open: only its headers are timed.
      if (init.stream) clearTimeout(timer);
      else res = await this.buffered(res, timer);
      if (res.ok) return res;
      const retryAfter = res.headers.get("retry-after") ?? undefined;
      if (!last && RETRY_STATUS.has(res.status)) {
        await res.body?.cancel();
        const seconds = Number(retryAfter);
        await sleep(
          Number.isFinite(seconds) ? Math.min(seconds, MAX_RETRY_AFTER_S) * 1000 : 200 * 4 ** attempt,
        );
        continue;
      }
      throw await this.problem(res, path, retryAfter);
    }
  }

  /** Reads the whole body under the call's timeout, so a stalled answer cannot hang the CLI. */
  private async buffered(res: Response, timer: NodeJS.Timeout): Promise<Response> {
    try {
      const body = await res.arrayBuffer();
      return new Response(res.status === 204 ? null : body, { status: res.status, headers: res.headers });
    } catch (err) {
      throw new IntakeUnreachableError(this.baseUrl, networkReason(err, this.timeoutMs).reason, true);
    } finally {
      clearTimeout(timer);
    }
  }

  private async problem(res: Response, path: string, retryAfter: string | undefined): Promise<CliError> {
    const text = await res.text().catch(() => "");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = problemSchema.safeParse(json);
    if (!parsed.success) {
      const snippet = text.replace(/\s+/g, " ").trim().slice(0, 120);
      return new IntakeAnswerError(this.baseUrl, `HTTP ${res.status} ${snippet || "(empty body)"}`);
    }
    return new IntakeProblemError(res.status, parsed.data, path, retryAfter);
  }

  private async parse<S extends z.ZodType>(res: Response, schema: S): Promise<z.output<S>> {
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new IntakeAnswerError(this.baseUrl, `HTTP ${res.status} with a body that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new IntakeAnswerError(this.baseUrl, `HTTP ${res.status} with a body of the wrong shape`);
    }
    return parsed.data;
  }
}

/** The environment lines of every command that talks to the intake, for its --help. */
export const INTAKE_ENV_HELP = `Environment:
  HYPERCODE_URL  the intake's address (default ${DEFAULT_INTAKE_URL})
  HYPERCODE_KEY  the agent's API key, as 'hypercode agents add' printed it (required)`;

/** The client for the intake at HYPERCODE_URL with the agent key in HYPERCODE_KEY. */
export const intakeClientFrom = (env: Record<string, string | undefined>): IntakeClient => {
  const { HYPERCODE_URL, HYPERCODE_KEY } = readEnv(["HYPERCODE_URL", "HYPERCODE_KEY"], env);
  const key = requireEnv(
    "HYPERCODE_KEY",
    HYPERCODE_KEY,
    "(the agent's API key: an operator creates one with 'hypercode agents add')",
  );
  return new IntakeClient(HYPERCODE_URL, key);
};
