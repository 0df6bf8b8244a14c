import type Dockerode from "dockerode";

export type ExecResult =
  | { readonly timedOut: false; readonly exitCode: number | undefined; readonly output: string }
  | { readonly timedOut: true; readonly output: string };

const OUTPUT_LIMIT = 4096;

/**
 * The text of a container's output stream. Without a TTY, Docker multiplexes stdout and stderr
 * behind 8-byte frame headers; a stream that does not parse as frames is taken as plain text.
 */
export const demux = (buf: Buffer): string => {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length && (buf[at] as number) <= 2) {
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return (at === 0 ? buf.toString("utf8") : Buffer.concat(parts).toString("utf8")).trim();
};

/**
 * Runs a command inside a running container and waits for it, at most `timeoutMs`. The Engine API
 * cannot kill an exec, so on timeout the command is left to finish on its own, as Docker does with
 * a HEALTHCHECK that overruns its timeout. Output: the first 4 KiB of stdout and stderr together.
 */
export const execBounded = async (
  docker: Dockerode,
  id: string,
  cmd: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> => {
  const exec = await docker.getContainer(id).exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    new Promise<boolean>((resolve) => {
      stream.on("data", (chunk: Buffer) => {
        if (size < OUTPUT_LIMIT + 8) chunks.push(chunk);
        size += chunk.length;
      });
      stream.on("end", () => resolve(true));
      stream.on("close", () => resolve(true));
      stream.on("error", () => resolve(true));
    }),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  stream.destroy();
  const output = demux(Buffer.concat(chunks)).slice(0, OUTPUT_LIMIT);
  if (!ended) return { timedOut: true, output };
  return { timedOut: false, exitCode: (await exec.inspect()).ExitCode ?? undefined, output };
};
