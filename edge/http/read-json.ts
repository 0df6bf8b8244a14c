import type { Context } from "hono";
import { problems } from "./problems.js";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * Reads a JSON body with the checks an intake owes its callers, in the order a client can fix
 * them: media type (415), size (413, counted while streaming so a missing or lying
 * Content-Length does not help), then syntax (400).
 */
export const readJsonBody = async (c: Context, maxBytes: number): Promise<unknown> => {
  const type = c.req.header("content-type");
  if (!type || !JSON_TYPE.test(type)) throw problems.unsupportedMediaType(type);

  const declared = Number(c.req.header("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw problems.payloadTooLarge(maxBytes);

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
        await reader.cancel();
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
