import type * as z from "zod";
import type { FieldError } from "./problem.js";

/** zod issues as `{ path, message }` pairs a client can map back onto its own fields. */
export const fieldErrors = (error: z.ZodError): FieldError[] =>
  error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: "unknown field" }));
    }
    if (issue.code === "invalid_union" && issue.path.at(-1) === "payload") {
      return [{ path: `${base}.action`, message: issue.message }];
    }
    return [{ path: base, message: issue.message }];
  });
