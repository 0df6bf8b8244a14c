import type { Section, Settings } from "../section.js";
export const bundleSection = async (_s: Settings): Promise<Section> => ({
  title: "bundle",
  body: "todo",
  targets: [],
});
