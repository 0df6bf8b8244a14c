import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export interface Listening {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (1 s at most) and resolves once closed. */
  close(): Promise<void>;
}

/** Serves a fetch handler on Node; port 0 (the default) picks a free one. */
export const listen = (
  fetch: (request: Request) => Response | Promise<Response>,
  { port = 0, host = "127.0.0.1" }: { port?: number | undefined; host?: string | undefined } = {},
): Promise<Listening> =>
  new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: host }) as Server;
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
