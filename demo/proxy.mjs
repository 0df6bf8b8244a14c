// The demo's front door (compose service `demo-proxy`): the one published port in front of the
// demo's replicas. The runner replaces the demo start-first (the new container runs beside the
// old one until it is healthy), which two containers cannot do while both claim one host port;
// so the demo publishes nothing and this proxy forwards to it by its network alias.
//
// Every request opens a new connection and resolves the alias again (agent: false), so traffic
// follows the cut-over at once; a request that cannot connect (a replica that was just stopped)
// is tried once more, against a fresh lookup.
import { createServer, request as httpRequest } from "node:http";

const upstream = new URL(process.env.UPSTREAM ?? "http://demo:8080");
const port = Number(process.env.PORT ?? 8080);
const CONNECT_TIMEOUT_MS = 2000;

const forward = (req, body, res, attemptsLeft) => {
  let connected = false;
  const out = httpRequest(
    {
      hostname: upstream.hostname,
      port: upstream.port || 80,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: upstream.host },
      agent: false,
      timeout: CONNECT_TIMEOUT_MS,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on("socket", (socket) => socket.once("connect", () => (connected = true)));
  out.on("timeout", () => out.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)));
  out.on("error", (err) => {
    if (!connected && attemptsLeft > 0) return forward(req, body, res, attemptsLeft - 1);
    if (res.headersSent) return res.destroy(err);
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`demo-proxy: ${upstream.host} is unreachable: ${err.message}\n`);
  });
  out.end(body);
};

const server = createServer((req, res) => {
  // Bodies are read whole so that a retry can send them again; the demo serves small pages.
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => forward(req, Buffer.concat(chunks), res, 1));
});

server.listen(port, "0.0.0.0", () => {
  process.stdout.write(`demo-proxy: http://0.0.0.0:${port} -> ${upstream.href}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
