import * as z from "zod";
import { improvementSubmission, streamImprovementRequest } from "./improvement-request.js";

const SCHEMA_BASE = "urn:hypercode:schema:";

/** What an agent may POST (and, with `request_id`/`created_at`, what it may XADD directly). */
export const submissionJsonSchema = () => ({
  ...z.toJSONSchema(improvementSubmission, { io: "input", target: "draft-2020-12" }),
  $id: `${SCHEMA_BASE}improvement-submission`,
  title: "HyperCode improvement request (POST /v1/improvements body)",
});

export const streamEntryJsonSchema = () => ({
  ...z.toJSONSchema(streamImprovementRequest, { io: "input", target: "draft-2020-12" }),
  $id: `${SCHEMA_BASE}improvement-stream-entry`,
  title: "HyperCode improvement request (the 'payload' field of an events:improvement_requested entry)",
});
