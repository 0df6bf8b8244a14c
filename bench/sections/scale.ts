import type { Section, Settings } from "../section.js";
export const scaleSection = async (_s: Settings): Promise<Section> => ({
  title: "scale",
  body: "todo",
  targets: [],
});
