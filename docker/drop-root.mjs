// Imported by docker/hypercode.mjs before anything else. The images' programs never run as root,
// but the runner must reach the Docker socket, whose group differs from one host to the next (a
// `docker` group with any gid on Linux, root on Docker Desktop). So the runner's container starts
// as root only long enough to read that group from the mounted socket, joins it and becomes
// uid/gid 1000 ("node", as in the official node images) before the CLI is even loaded: no
// configuration is parsed and no connection is opened as root. Started as another user (compose
// `user:`, or the intake image's `USER node`), it changes nothing. Note that whoever can use the
// Docker socket can become root on the host: dropping root limits what a bug in this process can
// do directly, not what the socket allows.
import { statSync } from "node:fs";

const UID = 1000;
const GID = 1000;

const socketPath = () => {
  const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
};

/** The socket's group, if there is a socket; `required` (the runner) makes a missing one an error. */
const socketGroup = (required) => {
  const socket = socketPath();
  if (socket === undefined) return [];
  try {
    return [statSync(socket).gid];
  } catch (err) {
    if (!required) return [];
    process.stderr.write(
      `hypercode: cannot see the Docker socket at ${socket} (${err.code ?? err.message}): mount it, ` +
        "e.g. -v /var/run/docker.sock:/var/run/docker.sock, or point DOCKER_HOST at the engine\n",
    );
    process.exit(1);
  }
};

/** Becomes uid/gid 1000 when running as root, in the Docker socket's group if there is one. */
export const dropRoot = ({ needsSocket }) => {
  if (process.getuid?.() !== 0) return;
  process.setgroups(socketGroup(needsSocket));
  process.setgid(GID);
  process.setuid(UID);
  process.env.HOME = "/home/node";
};
