// The `hypercode` command inside the images: `node /app/hypercode.mjs intake|runner|bridge|agents ...`.
// Like bin/hypercode.mjs, it only loads the bundled CLI (lib/cli.mjs, built by scripts/build.mjs)
// and runs it; being a file of its own, it is never mistaken for the bundle's main module (a
// bundled module that starts itself when it is the main one would start in every command).
import { dropRoot } from "./drop-root.mjs";

const argv = process.argv.slice(2);
dropRoot({ needsSocket: argv[0] === "runner" });
// Loaded only now, as uid 1000.
const { main } = await import("./lib/cli.mjs");
const code = await main(argv);
process.exitCode = code;
// Every command closes what it opened; this only guards a script that waits for us against a
// stray handle. The timer does not keep the process alive itself.
setTimeout(() => process.exit(code), 2000).unref();
