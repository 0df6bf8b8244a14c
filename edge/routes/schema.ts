import { Hono } from "hono";
import { submissionJsonSchema } from "../../shared/protocol/json-schema.js";

/** The JSON Schema of a submission, for agents written in other languages. */
export const schemaRoutes = () => {
  const app = new Hono();
  let cached: unknown;
  app.get("/improvement-request.json", (c) => {
    cached ??= submissionJsonSchema();
    return c.json(cached, 200, { "Cache-Control": "public, max-age=300" });
  });
  return app;
};
