import { Hono } from "hono";
import { listen } from "../../shared/node/listen.js";

/** The baseline: a bare Hono JSON POST endpoint, served by the intake's own `listen`. */
const app = new Hono();
app.post("/v1/improvements", async (c) => c.json(await c.req.json(), 202));
const server = await listen(app.fetch, { port: 0, host: "127.0.0.1" });
process.stdout.write(`listening ${server.port}\n`);
process.once("SIGTERM", () => server.close().then(() => process.exit(0)));
