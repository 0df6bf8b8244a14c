import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { generateApiKey } from "../../shared/api-key.js";
import { runCli } from "./cli.js";

/** `hypercode submit <args>` (with this on stdin, if given) must be refused with this message. */
export type SubmitRefusal = [args: string[], message: RegExp, stdin?: string];

/**
 * Runs every case at once (each its own process, none depending on another) against an "intake"
 * that only counts what reaches it: each must exit 2 with its message and the usage hint, print
 * nothing on stdout and no control character anywhere, and send nothing.
 */
export const expectSubmitRefusals = async (cases: readonly SubmitRefusal[]): Promise<void> => {
  let received = 0;
  const server = createServer((_, res) => {
    received++;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = { HYPERCODE_URL: url, HYPERCODE_KEY: generateApiKey("someone") };
    const results = await Promise.all(
      cases.map(([args, , stdin]) => runCli(["submit", ...args], { env, stdin })),
    );
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      const what = JSON.stringify(args);
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).toMatch(/Run 'hypercode submit --help' for usage\.\n$/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
      expect(r.stderr, what).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(r.stdout, what).toBe("");
    });
    expect(received).toBe(0);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
};
