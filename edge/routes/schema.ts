import { Hono } from "hono";
import { submissionJsonSchema } from "../../shared/protocol/json-schema.js";
import { openApiDocument } from "../openapi/document.js";

/** The JSON Schema of a submission and the OpenAPI description, for agents in any language. */
export const schemaRoutes = () => {
  const app = new Hono();
  let cached: unknown;
  app.get("/v1/schema/improvement-request.json", (c) => {
    cached ??= submissionJsonSchema();
    return c.json(cached, 200, { "Cache-Control": "public, max-age=300" });
  });
  let openapi: unknown;
  app.get("/openapi.json", (c) => {
    openapi ??= openApiDocument();
    return c.json(openapi, 200, { "Cache-Control": "public, max-age=300" });
  });
  return app;
};
