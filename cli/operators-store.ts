import { generateOperatorKey, hashApiKey } from "../shared/api-key.js";
import type { Keys } from "../shared/keys.js";
import { SCRIPTS } from "../shared/lua/scripts.generated.js";
import { type OperatorRecord, operatorId, type ScriptReply } from "../shared/protocol/index.js";
import type { RedisPort } from "../shared/redis/port.js";
import { asList, runJsonScript } from "../shared/redis/run-script.js";
import { type RevokeResult, revokeRecord, slugProblem } from "./credential-store.js";
import { CliError, EXIT } from "./errors.js";

/**
 * Operator keys: the dashboard's credentials. Stored like agent keys (only the SHA-256, a record
 * per id, revocable at once), under their own key names and with their own key prefix (`hco1.`),
 * so an operator key cannot submit requests and an agent key cannot open the dashboard.
 */

/** The operator id is not a slug; nothing was written. */
export class OperatorInputError extends CliError {
  constructor(readonly problem: string) {
    super(problem, EXIT.usage);
  }
}

/** The CLI's complaint about an operator id, or undefined when it is valid. */
export const operatorIdProblem = (id: string): string | undefined => {
  const problem = slugProblem(operatorId, id);
  return problem && `invalid operator id '${id}': ${problem}`;
};

const checkId = (id: string): void => {
  const problem = operatorIdProblem(id);
  if (problem) throw new OperatorInputError(problem);
};

export type AddOperatorResult =
  | { outcome: "created" | "replaced"; operatorKey: string; operator: OperatorRecord }
  /** An operator with that id exists and is not revoked; pass `replace` to overwrite it. */
  | { outcome: "exists" };

export const addOperator = async (
  redis: RedisPort,
  k: Keys,
  input: { operatorId: string; replace?: boolean },
  now: Date = new Date(),
): Promise<AddOperatorResult> => {
  checkId(input.operatorId);
  const operator: OperatorRecord = { operator_id: input.operatorId, created_at: now.toISOString() };
  const operatorKey = generateOperatorKey(operator.operator_id);
  const reply = await runJsonScript<ScriptReply<{ replaced: boolean }, "operator_put">>(
    redis,
    SCRIPTS.operator_put,
    [k.operator(operator.operator_id), k.operatorIndex],
    [operator.operator_id, await hashApiKey(operatorKey), operator.created_at, input.replace ? "1" : "0"],
  );
  return reply.ok
    ? { outcome: reply.replaced ? "replaced" : "created", operatorKey, operator }
    : { outcome: "exists" };
};

/** Every operator, sorted by id, without key hashes. */
export const listOperators = async (redis: RedisPort, k: Keys): Promise<OperatorRecord[]> => {
  const reply = await runJsonScript<ScriptReply<{ operators: unknown }, "operators_list">>(
    redis,
    SCRIPTS.operators_list,
    [k.operatorIndex],
    [k.operator("")],
  );
  return asList<OperatorRecord>(reply.ok ? reply.operators : []);
};

/** Revokes at once: the dashboard signs the operator out on its next refresh. */
export const revokeOperator = async (
  redis: RedisPort,
  k: Keys,
  id: string,
  now: Date = new Date(),
): Promise<RevokeResult> => {
  checkId(id);
  return revokeRecord(redis, k.operator(id), now);
};
