import type { Section, Settings } from "../section.js";
export const dispatchSection = async (_s: Settings): Promise<Section> => ({
  title: "dispatch",
  body: "todo",
  targets: [],
});
