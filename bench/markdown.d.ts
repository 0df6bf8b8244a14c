/** Markdown files imported as text (esbuild's `text` loader in scripts/run-ts.mjs). */
declare module "*.md" {
  const text: string;
  export default text;
}
