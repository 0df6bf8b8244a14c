// Entry of the runner image. The runner must reach the Docker socket, whose group differs from one
// host to the next (a `docker` group with any gid on Linux, root on Docker Desktop). So the
// container starts as root only long enough to read that group from the mounted socket, joins it,
// and becomes uid/gid 1000 ("node") before any of the runner's code is loaded: no configuration
// is parsed and no connection is opened as root. Started as another user (compose `user:`), it
// changes nothing. Note that whoever can use the Docker socket can become root on the host:
// dropping root here limits what a bug in this process can do directly, not what the socket allows.
import { statSync } from "node:fs";

const RUNNER_UID = 1000;
const RUNNER_GID = 1000;

const socketPath = () => {
  const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
};

const fail = (message) => {
  process.stderr.write(`runner: ${message}\n`);
  process.exit(1);
};

if (process.getuid?.() === 0) {
  const socket = socketPath();
  const groups = [];
  if (socket !== undefined) {
    try {
      groups.push(statSync(socket).gid);
    } catch (err) {
      fail(
        `cannot see the Docker socket at ${socket} (${err.code ?? err.message}): mount it, e.g. ` +
          "-v /var/run/docker.sock:/var/run/docker.sock, or point DOCKER_HOST at the engine",
      );
    }
  }
  process.setgroups(groups);
  process.setgid(RUNNER_GID);
  process.setuid(RUNNER_UID);
  process.env.HOME = "/home/node";
}

const { startRunner } = await import("./lib/runner.mjs");
startRunner().catch((err) => {
  // A ConfigError names the variable and why; anything else is unexpected: keep its stack.
  fail(err?.name === "ConfigError" ? err.message : (err?.stack ?? String(err)));
});
