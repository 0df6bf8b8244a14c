import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { isTerminal, type RequestState, requestId } from "../../shared/protocol/index.js";
import { presentedKey } from "../auth.js";
import type { AppDeps } from "../deps.js";
import { problems } from "../http/problems.js";
import { refusalToProblem } from "../http/refusals.js";
import type { IntakeStore } from "../intake-store.js";

const EVENT_ID = /^\d{1,20}-\d{1,20}$/;
/** How long a feed's place outlives the feed's longest life (a last poll, clocks a little apart). */
const PLACE_MARGIN_MS = 60_000;

/**
 * `GET /v1/improvements/:id/events`: Server-Sent Events, one `status` event per transition, then
 * `end` once the request is finished. It polls the request's timeline with one small script call
 * per interval rather than a blocking read, because the Upstash REST protocol (Workers) has no
 * blocking commands; the same code then runs on both runtimes. Every event carries its timeline
 * id, so a client that reconnects with Last-Event-ID misses nothing and sees nothing twice.
 */
export const statusFeed = (deps: AppDeps, store: IntakeStore) => async (c: Context) => {
  const key = await presentedKey(c, deps);
  const id = c.req.param("id") ?? "";
  if (!requestId.safeParse(id).success) {
    const auth = await store.authenticate(key);
    if (!auth.ok) throw refusalToProblem(auth);
    throw problems.notFound("no request with this id belongs to this agent");
  }
  const lastEventId = c.req.header("last-event-id") ?? "";
  let after = EVENT_ID.test(lastEventId) ? lastEventId : "";
  // The first read happens before the stream opens, so a wrong key or id is a proper problem.
  let read = await store.readRequest(key, id, after);
  if (!read.ok) throw refusalToProblem(read);
  // Each feed holds a connection and a poll loop: an agent gets a bounded number of places. A
  // place outlives the feed's longest life by a margin, so one left behind by a dead intake lapses.
  const feedId = deps.newId();
  const now = deps.clock();
  const place = await store.openFeed(key.agentId, feedId, now, now + deps.config.feedMaxMs + PLACE_MARGIN_MS);
  if (!place.ok) throw refusalToProblem(place);
  const giveBack = () =>
    // Redis gone: the place lapses by itself.
    store.closeFeed(key.agentId, feedId).catch(() => {});

  return streamSSE(c, async (stream) => {
    try {
      await follow(stream);
    } finally {
      await giveBack();
    }
  });

  async function follow(stream: SSEStreamingApi): Promise<void> {
    let open = true;
    stream.onAbort(() => {
      open = false;
    });
    const deadline = deps.clock() + deps.config.feedMaxMs;
    for (;;) {
      if (!read.ok) return;
      for (const e of read.events) {
        after = e.id ?? after;
        await stream.writeSSE({
          event: "status",
          id: e.id,
          data: JSON.stringify({ request_id: id, status: e.state, at: e.at, detail: e.detail || null }),
        });
      }
      if (isTerminal(read.status.state as RequestState)) {
        await stream.writeSSE({
          event: "end",
          data: JSON.stringify({ request_id: id, status: read.status.state }),
        });
        return;
      }
      if (!open || deps.clock() >= deadline) return;
      await stream.sleep(deps.config.feedPollMs);
      if (!open) return;
      read = await store.readRequest(key, id, after);
    }
  }
};
