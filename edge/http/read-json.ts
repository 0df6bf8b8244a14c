import type { Context } from "hono";
import { problems } from "./problems.js";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
const DECIMAL = /^\d+$/;

/**
 * A body whose Content-Length is declared and within the limit: the runtime's HTTP parser reads
 * exactly that many bytes, so it is read whole, through the runtime's own fast path (on Node,
 * @hono/node-server then skips building a web Request and stream: ~12% of the intake's CPU under
 * load). Checked again after reading, for callers that build a Request by hand.
 */
const readDeclared = async (c: Context, maxBytes: number): Promise<Uint8Array> => {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw problems.payloadTooLarge(maxBytes);
  return bytes;
};

/**
 * An oversized streamed body is read on (and dropped) up to a bound before the 413 goes out:
 * answering in the middle of a chunked upload left workerd's connection unusable for the next
 * request (seen under wrangler dev). Past the bound the stream is cancelled: the limit still holds.
 */
const DRAIN_FACTOR = 16;
const discardRest = async (reader: ReadableStreamDefaultReader<Uint8Array>, budget: number) => {
  let left = budget;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    left -= value.byteLength;
    if (left < 0) {
      await reader.cancel();
      return;
    }
  }
};

/** Any other body (chunked, no length): counted while streaming, refused once over the limit. */
const readStreaming = async (c: Context, maxBytes: number): Promise<Uint8Array> => {
  const stream = c.req.raw.body;
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (stream) {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await discardRest(reader, maxBytes * DRAIN_FACTOR - size);
        throw problems.payloadTooLarge(maxBytes);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
};

/**
 * Reads a JSON body with the checks an intake owes its callers, in the order a client can fix
 * them: media type (415), size (413: a declared length over the limit is refused before reading;
 * without one the body is counted while streaming), then syntax (400).
 */
export const readJsonBody = async (c: Context, maxBytes: number): Promise<unknown> => {
  const type = c.req.header("content-type");
  if (!type || !JSON_TYPE.test(type)) throw problems.unsupportedMediaType(type);

  const length = c.req.header("content-length");
  const declared = Number(length);
  if (Number.isFinite(declared) && declared > maxBytes) throw problems.payloadTooLarge(maxBytes);

  const bytes =
    length !== undefined && DECIMAL.test(length)
      ? await readDeclared(c, maxBytes)
      : await readStreaming(c, maxBytes);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw problems.malformedJson("the body is not valid UTF-8");
  }
  if (text.trim() === "") throw problems.malformedJson("the body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (err) {
    // The parser's message names the position; a RangeError means nesting too deep to parse.
    const why = err instanceof SyntaxError ? err.message : "nesting too deep";
    throw problems.malformedJson(`the body is not valid JSON: ${why}`);
  }
};
