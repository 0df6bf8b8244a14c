import * as z from "zod";

const PROTO_MESSAGE =
  "'__proto__' cannot be a name here: JavaScript takes it for the object's prototype, so it would be lost";

/**
 * `z.record` for a JSON object of names to values (build args, env, metadata), refusing a
 * `__proto__` name: zod skips it (assigning it would set the prototype of the object it builds),
 * so without this the entry vanished from the request without a word. `constructor` and
 * `prototype` survive parsing as ordinary names and stay allowed. The check looks at the input
 * before the record is built; the JSON Schema is the record's own.
 */
export const namedRecord = <K extends z.core.$ZodRecordKey, V extends z.core.SomeType>(name: K, value: V) =>
  z.preprocess(
    (input, ctx) => {
      if (typeof input === "object" && input !== null && Object.hasOwn(input, "__proto__")) {
        ctx.addIssue({ code: "custom", message: PROTO_MESSAGE, input, path: ["__proto__"] });
      }
      return input;
    },
    z.record(name, value),
  );
