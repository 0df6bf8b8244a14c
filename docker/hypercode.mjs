// The `hypercode` command inside the images: `node /app/hypercode.mjs intake`, `... agents add`.
// Like bin/hypercode.mjs, it only loads the bundled CLI (lib/cli.mjs, built by scripts/build.mjs)
// and runs it; being a file of its own, it is never mistaken for the bundle's main module.
import { main } from "./lib/cli.mjs";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command closes what it opened; this only guards a script that waits for us against a
// stray handle. The timer does not keep the process alive itself.
setTimeout(() => process.exit(code), 2000).unref();
