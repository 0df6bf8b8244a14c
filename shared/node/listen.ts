import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export interface Listening {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (1 s at most) and resolves once closed. */
  close(): Promise<void>;
}

export interface ListenOptions {
  port?: number | undefined;
  host?: string | undefined;
  /** How long a client may take to send the request's headers (Node's default: 60 s). */
  headersTimeoutMs?: number | undefined;
  /** How long a client may take to send the whole request, body included (Node's default: 300 s). */
  requestTimeoutMs?: number | undefined;
}

/**
 * How often Node looks for requests past those timeouts: by default every 30 s, which would let a
 * 10 s bound hold a connection for 40 s.
 */
const checkEvery = (timeouts: Array<number | undefined>): number | undefined => {
  const set = timeouts.filter((t): t is number => t !== undefined && t > 0);
  return set.length === 0 ? undefined : Math.max(100, Math.min(5000, Math.floor(Math.min(...set) / 4)));
};

/** Serves a fetch handler on Node; port 0 (the default) picks a free one. */
export const listen = (
  fetch: (request: Request) => Response | Promise<Response>,
  { port = 0, host = "127.0.0.1", headersTimeoutMs, requestTimeoutMs }: ListenOptions = {},
): Promise<Listening> =>
  new Promise((resolve, reject) => {
    const interval = checkEvery([headersTimeoutMs, requestTimeoutMs]);
    const server = serve({
      fetch,
      port,
      hostname: host,
      serverOptions: {
        ...(headersTimeoutMs !== undefined ? { headersTimeout: headersTimeoutMs } : {}),
        ...(requestTimeoutMs !== undefined ? { requestTimeout: requestTimeoutMs } : {}),
        ...(interval !== undefined ? { connectionsCheckingInterval: interval } : {}),
      },
    }) as Server;
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      const actual = (server.address() as AddressInfo).port;
      const shownHost = host.includes(":") ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${shownHost}:${actual}`,
        port: actual,
        close: () => {
          closing ??= new Promise<void>((done) => {
            // Clients keep connections alive (fetch does by default); without these, close waits for them.
            const force = setTimeout(() => server.closeAllConnections(), 1000);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
