import type { Section, Settings } from "../section.js";
export const rolloutSection = async (_s: Settings): Promise<Section> => ({
  title: "rollout",
  body: "todo",
  targets: [],
});
