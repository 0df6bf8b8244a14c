export * from "./agent.js";
export * from "./improvement-request.js";
export * from "./payload.js";
export * from "./slug.js";
export * from "./status.js";
export * from "./stream-entry.js";
export * from "./targets.js";
