import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import { statusEventSchema } from "../shared/protocol/http.js";
import type { RequestState } from "../shared/protocol/index.js";
import { CliError, EXIT } from "./errors.js";
import {
  IntakeAnswerError,
  type IntakeClient,
  IntakeProblemError,
  IntakeUnreachableError,
} from "./intake-client.js";
import { printable } from "./printable.js";
import type { SseEvent } from "./sse.js";

/** One transition as the live feed reports it. */
export type Transition = z.infer<typeof statusEventSchema>;

export interface Ending {
  /** The request whose outcome this is: the one asked for, or the one it was coalesced into. */
  readonly requestId: string;
  readonly state: RequestState;
  readonly detail?: string | null;
}

export interface FollowOptions {
  onTransition(t: Transition): void;
  /** Something the reader should know that is not a transition (a switch to another request). */
  onNote(text: string): void;
  /** Give up after the intake has been unreachable this long (default 60 s). */
  readonly patienceMs?: number;
}

/** The exit code of a command that followed a request to its end. */
export const exitCodeFor = (state: RequestState): number =>
  state === "succeeded" || state === "coalesced" ? EXIT.ok : EXIT.requestFailed;

const parseData = (client: IntakeClient, e: SseEvent): Transition => {
  let json: unknown;
  try {
    json = JSON.parse(e.data);
  } catch {
    json = undefined;
  }
  const parsed = statusEventSchema.safeParse(json);
  if (!parsed.success)
    throw new IntakeAnswerError(client.baseUrl, `a malformed '${e.event}' event in the status feed`);
  return parsed.data;
};

/**
 * Follows one request's live feed to its end. The intake closes a feed after FEED_MAX, and a
 * connection can drop: either way the feed is opened again with Last-Event-ID, so no transition
 * is missed or shown twice. An intake that stays unreachable longer than `patienceMs` is an error.
 */
const followFeed = async (client: IntakeClient, requestId: string, opts: FollowOptions): Promise<Ending> => {
  const patienceMs = opts.patienceMs ?? 60_000;
  let lastEventId: string | undefined;
  let last: Transition | undefined;
  let reachedAt = Date.now();
  for (let pause = 0; ; ) {
    if (pause > 0) await sleep(pause);
    const openedAt = Date.now();
    let events: AsyncGenerator<SseEvent>;
    try {
      events = await client.events(requestId, lastEventId);
    } catch (err) {
      // Away, or answering 5xx (its Redis is away): the request goes on meanwhile, so keep trying.
      const transient =
        err instanceof IntakeUnreachableError || (err instanceof IntakeProblemError && err.status >= 500);
      if (!transient || Date.now() - reachedAt > patienceMs) throw err;
      pause = Math.min(Math.max(pause * 2, 1000), 5000);
      continue;
    }
    reachedAt = Date.now();
    let received = 0;
    try {
      for await (const e of events) {
        received++;
        if (e.event === "status") {
          lastEventId = e.id ?? lastEventId;
          last = parseData(client, e);
          opts.onTransition(last);
        } else if (e.event === "end") {
          const end = parseData(client, e);
          const detail = last?.status === end.status ? last.detail : undefined;
          return { requestId, state: end.status, detail };
        }
      }
    } catch (err) {
      // Anything but the CLI's own errors is the connection breaking mid-stream: resume.
      if (err instanceof CliError) throw err;
    }
    reachedAt = Date.now();
    // A feed that closes at once without news would otherwise be reopened in a tight loop.
    pause = received === 0 && Date.now() - openedAt < 1000 ? 1000 : 0;
  }
};

/**
 * Follows a request to its end, through the feed. A request coalesced into another is carried out
 * by that one: when its status names it and this key may read it, that request is followed too.
 */
export const followRequest = async (
  client: IntakeClient,
  requestId: string,
  opts: FollowOptions,
): Promise<Ending> => {
  const seen = new Set<string>();
  let id = requestId;
  for (;;) {
    seen.add(id);
    const ending = await followFeed(client, id, opts);
    if (ending.state !== "coalesced") return ending;
    const into = (await client.status(id)).result.coalesced_into;
    if (!into || seen.has(into)) {
      opts.onNote(`request ${id} was coalesced into another request, which carries it out.`);
      return ending;
    }
    try {
      await client.status(into);
    } catch (err) {
      if (!(err instanceof IntakeProblemError && err.status === 404)) throw err;
      opts.onNote(
        `request ${id} was coalesced into ${into}, which this key cannot read (another agent's request); its outcome is not shown.`,
      );
      return ending;
    }
    opts.onNote(`request ${id} was coalesced into ${into}, which carries it out: following ${into}.`);
    id = into;
  }
};

/** One line per transition, for people: time, state, what happened. */
export const formatTransition = (t: { at?: string; status: string; detail?: string | null }): string =>
  printable(`${t.at ?? ""}  ${t.status.padEnd(13)}  ${t.detail ?? ""}`.trimEnd());

/** What a followed request's end means, in one line, for a request that did not succeed. */
export const describeEnding = (e: Ending): string =>
  printable(
    `request ${e.requestId} ended ${e.state}${e.detail ? `: ${e.detail}` : ""} (see 'hypercode status ${e.requestId}')`,
  );
