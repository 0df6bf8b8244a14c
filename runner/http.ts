import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Health {
  readonly ok: boolean;
  readonly [k: string]: unknown;
}

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** `/healthz` (200 or 503 with a JSON body) and Prometheus `/metrics`, nothing else. */
export const startHttpServer = async (opts: {
  port: number;
  host?: string;
  registry: Registry;
  health: () => Promise<Health>;
}): Promise<HttpServer> => {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD")
      return reply(405, "text/plain", "method not allowed\n");
    if (path === "/healthz") {
      opts.health().then(
        (h) => reply(h.ok ? 200 : 503, "application/json", JSON.stringify(h)),
        (err) => reply(503, "application/json", JSON.stringify({ ok: false, error: String(err) })),
      );
      return;
    }
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => reply(200, opts.registry.contentType, text),
        (err) => reply(500, "text/plain", `could not collect metrics: ${err}\n`),
      );
      return;
    }
    reply(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
