import * as z from "zod";

/**
 * The rules for variables more than one process reads, written once: the intake, the runner and
 * the CLI parse REDIS_URL, KEY_PREFIX, ports and bounded integers with these, so they agree.
 */

/** An empty variable (`REDIS_URL= hypercode up`) means "not set", as in a shell. */
export const blankIsUnset = <S extends z.ZodType>(schema: S) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema);

export const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/\S+$/, "must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379");

/** Prefix of every Redis key; it becomes part of key and channel names, so a narrow alphabet. */
export const keyPrefix = z
  .string()
  .regex(/^[A-Za-z0-9:_-]*$/, "letters, digits, ':', '_' or '-'")
  .max(64)
  .default("");

/** A whole number from the environment, within bounds, with a default. */
export const envInt = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const PORT_MESSAGE = "must be a TCP port number, 0 to 65535";
export const portNumber = z.coerce
  .number({ error: PORT_MESSAGE })
  .int(PORT_MESSAGE)
  .min(0, PORT_MESSAGE)
  .max(65_535, PORT_MESSAGE);
