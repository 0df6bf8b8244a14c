import type { TestProject } from "vitest/node";
import { startLocalRedis } from "../../cli/local-redis.js";

/**
 * One private redis-server for the whole run; every test isolates itself with a fresh key prefix
 * (see ./redis.ts). The URL reaches test files through `inject("redisUrl")`.
 */
export default async function setup(project: TestProject) {
  const redis = await startLocalRedis();
  project.provide("redisUrl", redis.url);
  return async () => {
    await redis.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
