import { expect } from "vitest";
import type { z } from "zod";
import { RESPONSE_SCHEMAS } from "../../edge/openapi/document.js";

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }
    >
  >;
};

const templateMatches = (template: string, path: string) =>
  new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path);

/**
 * Asserts that a real response is described by the OpenAPI document: its path, method and status
 * are listed, and its JSON body parses with the schema the description names (no extra fields).
 */
export const expectDocumented = async (doc: Doc, method: string, path: string, res: Response) => {
  const template = Object.keys(doc.paths).find((t) => templateMatches(t, path));
  expect(template, `${path} is not in the OpenAPI paths`).toBeDefined();
  if (res.status === 405) {
    // OpenAPI describes the methods a path has, not the ones it lacks: 405 is a plain Problem.
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(RESPONSE_SCHEMAS.Problem.safeParse(await res.json()).success).toBe(true);
    return;
  }
  const op = doc.paths[template as string]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is not described`).toBeDefined();
  const documented = op?.responses[String(res.status)];
  expect(documented, `${method} ${template} → ${res.status} is not described`).toBeDefined();
  const type = (res.headers.get("content-type") ?? "").split(";")[0] as string;
  const media = documented?.content?.[type];
  expect(media, `${method} ${template} → ${res.status} ${type} is not described`).toBeDefined();
  const name = media?.schema?.$ref?.split("/").at(-1);
  if (name && type !== "text/event-stream") {
    const schema = RESPONSE_SCHEMAS[name as keyof typeof RESPONSE_SCHEMAS] as z.ZodObject;
    const body = await res.json();
    const parsed = schema.safeParse(body);
    expect(parsed.success, `${method} ${path} ${res.status}: ${JSON.stringify(parsed.error?.issues)}`).toBe(
      true,
    );
    const extra = Object.keys(body).filter((k) => !(k in schema.shape));
    expect(extra, `${method} ${path} ${res.status} has undocumented fields`).toEqual([]);
  }
};
