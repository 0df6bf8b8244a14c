import { canonicalJson } from "../canonical-json.js";
import type { ImprovementRequest } from "./improvement-request.js";

/**
 * What makes two submissions the same request: everything the agent asked for, not when or under
 * which id it arrived. The intake stores its hash with the request; a second entry with the same id
 * and the same hash is a retry (acknowledged, not run), with another hash a reuse (refused).
 */
export const fingerprintText = (request: ImprovementRequest): string => {
  const { request_id: _id, created_at: _at, ...asked } = request;
  return canonicalJson(asked);
};
