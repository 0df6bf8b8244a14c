import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/local-redis.js";
import { main } from "../../cli/main.js";
import {
  addOperator as addOperatorInStore,
  listOperators,
  OperatorInputError,
} from "../../cli/operators-store.js";
import { createApp } from "../../edge/app.js";
import { parseIntakeConfig } from "../../edge/config.js";
import type { DashboardData } from "../../edge/dashboard/data.js";
import { hashApiKey } from "../../shared/api-key.js";
import { keys, RUNNER_GROUP } from "../../shared/keys.js";
import { createIoredisClient, IoredisAdapter } from "../../shared/redis/ioredis-adapter.js";
import type { RedisPort } from "../../shared/redis/port.js";
import { CountingPort } from "../support/counting-port.js";
import {
  addOperator,
  type Fetcher,
  httpFetcher,
  postSignIn,
  publishAsRunner,
  revokeOperator,
  sessionCookie,
} from "../support/dashboard.js";
import { addAgent, transition, uniqueName } from "../support/fixtures.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";
import { startWorkersIntake } from "../support/workers-intake.js";

type Data = DashboardData & { html: Record<string, string> };

let client: Redis;
const prefixes: string[] = [];
const newPrefix = () => {
  const p = freshPrefix();
  prefixes.push(p);
  return p;
};

beforeAll(() => {
  client = testClient();
});
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(client, p);
  await client.quit();
});

const submission = (target: string, description = "Optimizing build settings") => ({
  target_agent: target,
  improvement_type: "performance",
  description,
  payload: { action: "redeploy" },
});

const submit = async (fetcher: Fetcher, agentKey: string, body: unknown): Promise<string> => {
  const res = await fetcher("/v1/improvements", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${agentKey}` },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { request_id: string }).request_id;
};

const withCookie = (cookie: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), cookie },
});

const expectProblem = async (res: Response, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  return body;
};

describe("operator keys (the CLI's store)", () => {
  it("stores only the SHA-256 of an hco1 key, lists without it, refuses a bad id writing nothing", async () => {
    const prefix = newPrefix();
    const k = keys(prefix);
    const redis = new IoredisAdapter(client);
    const added = await addOperatorInStore(
      redis,
      k,
      { operatorId: "alice" },
      new Date("2030-01-02T03:04:05Z"),
    );
    if (added.outcome === "exists") throw new Error("unreachable");
    expect(added.operatorKey).toMatch(/^hco1\.alice\.[A-Za-z0-9_-]{43}$/);
    expect(await client.hgetall(k.operator("alice"))).toEqual({
      operator_id: "alice",
      key_hash: await hashApiKey(added.operatorKey),
      created_at: "2030-01-02T03:04:05.000Z",
    });
    expect(await listOperators(redis, k)).toEqual([
      { operator_id: "alice", created_at: "2030-01-02T03:04:05.000Z" },
    ]);
    expect((await addOperatorInStore(redis, k, { operatorId: "alice" })).outcome).toBe("exists");

    const err = await addOperatorInStore(redis, k, { operatorId: "Bad/Id" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperatorInputError);
    expect((err as OperatorInputError).exitCode).toBe(2);
    expect(await client.exists(k.operator("Bad/Id"))).toBe(0);
    // Operators and agents live apart: an operator is no agent record.
    expect(await client.exists(k.agent("alice"))).toBe(0);
  });
});

describe("hypercode operators (the CLI, in process)", () => {
  const cli = async (prefix: string, ...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, {
      env: { REDIS_URL: redisUrl(), KEY_PREFIX: prefix },
      invocation: "hypercode",
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      readStdin: async () => "",
    });
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  };

  it("adds (key shown once), lists, revokes, with the agents command's exit codes", async () => {
    const prefix = newPrefix();
    const added = await cli(prefix, "operators", "add", "ops-1", "--json");
    expect(added.code).toBe(0);
    const record = JSON.parse(added.stdout);
    expect(record).toMatchObject({ operator_id: "ops-1", replaced: false });
    expect(record.operator_key).toMatch(/^hco1\.ops-1\./);

    const text = await cli(prefix, "operators", "add", "ops-2");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/shown this once[\s\S]*hco1\.ops-2\.\S{43}[\s\S]*\/dashboard/);

    expect((await cli(prefix, "operators", "add", "ops-1")).code).toBe(1);
    expect((await cli(prefix, "operators", "add", "ops-1", "--replace")).code).toBe(0);

    const revoked = await cli(prefix, "operators", "revoke", "ops-1");
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringMatching(/revoked at/) });
    expect((await cli(prefix, "operators", "revoke", "ops-1")).stdout).toMatch(/already revoked/);
    const missing = await cli(prefix, "operators", "revoke", "nobody");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no operator 'nobody'/);

    const list = JSON.parse((await cli(prefix, "operators", "list", "--json")).stdout);
    expect(list.operators).toEqual([
      { operator_id: "ops-1", created_at: expect.any(String), revoked_at: expect.any(String) },
      { operator_id: "ops-2", created_at: expect.any(String) },
    ]);
    expect(JSON.stringify(list)).not.toMatch(/key_hash|hco1/);
    const table = await cli(prefix, "operators", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/^OPERATOR\s+CREATED\s+REVOKED$/);
  });

  it("answers usage errors with exit 2 before touching Redis, and --help with 0", async () => {
    const prefix = newPrefix();
    const bad = await cli(prefix, "operators", "add", "Not_A/Slug");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid operator id 'Not_A\/Slug'[\s\S]*hypercode operators add --help/);
    expect((await cli(prefix, "operators", "add")).code).toBe(2);
    expect((await cli(prefix, "operators", "list", "extra")).code).toBe(2);
    expect((await cli(prefix, "operators", "revoke", "a", "--force")).code).toBe(2);
    expect(await client.keys(`${prefix}*`)).toEqual([]);
    const help = await cli(prefix, "operators", "add", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: hypercode operators add <operator_id>/);
    expect((await cli(prefix, "operators")).stdout).toMatch(/add[\s\S]*list[\s\S]*revoke/);
    expect((await cli(prefix, "--help")).stdout).toMatch(/operators add/);
  });
});

/**
 * The dashboard's HTTP behaviour, the same on every runtime: each caller gives a way to start an
 * intake under a prefix (and stop it).
 */
const dashboardSuite = (
  runtime: string,
  start: (prefix: string) => Promise<{ fetcher: Fetcher; stop: () => Promise<void> }>,
) => {
  describe(`the dashboard on ${runtime}`, () => {
    const prefix = newPrefix();
    let fetcher: Fetcher;
    let stop: () => Promise<void> = async () => {};
    let operatorKey: string;
    let agentKey: string;
    let cookie: string;
    const target = uniqueName("svc");
    const operatorId = uniqueName("op");

    beforeAll(async () => {
      ({ fetcher, stop } = await start(prefix));
      operatorKey = await addOperator(client, prefix, operatorId);
      agentKey = await addAgent(client, prefix, {
        id: uniqueName("agent"),
        targets: [target],
        actions: ["redeploy"],
      });
      await publishAsRunner(client, prefix, "runner-1", [
        { name: target, actions: ["redeploy", "restart"], replicas: 2, revision: "r7" },
      ]);
    });
    afterAll(() => stop());

    it("without a session: the sign-in form, under a CSP that allows only its own nonce", async () => {
      const res = await fetcher("/dashboard");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const csp = res.headers.get("content-security-policy") ?? "";
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain(`style-src 'nonce-${nonce}'`);
      expect(csp).not.toMatch(/unsafe-inline|https?:/);
      const html = await res.text();
      expect(html).toContain('action="/dashboard/session"');
      expect(html).toContain(`<style nonce="${nonce}">`);
      await expectProblem(await fetcher("/dashboard/data.json"), 401);
    });

    it("sign-in refuses an agent key, a wrong key and nonsense with 401 and the form; an operator key gets the cookie", async () => {
      const agent = await postSignIn(fetcher, agentKey);
      expect(agent.status).toBe(401);
      expect(await agent.text()).toMatch(/That is an agent key/);
      expect(agent.headers.get("set-cookie")).toBeNull();
      const wrong = operatorKey.replace(/\.[^.]+$/, `.${"x".repeat(43)}`);
      const refused = await postSignIn(fetcher, wrong);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toMatch(/unknown or wrong/);
      expect((await postSignIn(fetcher, "hello")).status).toBe(401);
      expect((await postSignIn(fetcher, "")).status).toBe(401);

      const ok = await postSignIn(fetcher, operatorKey);
      expect(ok.status).toBe(303);
      expect(ok.headers.get("location")).toBe("/dashboard");
      const setCookie = ok.headers.get("set-cookie") ?? "";
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      expect(setCookie).toMatch(/Path=\/dashboard/);
      expect(setCookie).not.toMatch(/Secure/); // plain http here
      cookie = sessionCookie(ok);
      const page = await fetcher("/dashboard", withCookie(cookie));
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(`signed in as ${operatorId}`);
      expect(html).toMatch(/data-section="requests"/);
    });

    it("an agent key cannot open the dashboard, and an operator key cannot submit", async () => {
      await expectProblem(
        await fetcher("/dashboard/data.json", withCookie(`hypercode_operator=${agentKey}`)),
        401,
      );
      const res = await fetcher("/v1/improvements", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${operatorKey}` },
        body: JSON.stringify(submission(target)),
      });
      await expectProblem(res, 401);
      expect(await client.xlen(keys(prefix).requestStream)).toBe(0);
    });

    it("data.json: queue and lag, runners, targets, recent requests newest first with their timelines", async () => {
      const k = keys(prefix);
      const first = await submit(fetcher, agentKey, submission(target, "first"));
      const second = await submit(fetcher, agentKey, submission(target, "second <b>bold</b>"));
      await transition(client, prefix, first, "running");
      await transition(client, prefix, first, "succeeded", "rolled out");
      // A runner read one entry and has not acknowledged it: one pending, one waiting.
      await client.xgroup("CREATE", k.requestStream, RUNNER_GROUP, "0");
      await client.xreadgroup("GROUP", RUNNER_GROUP, "runner-1", "COUNT", 1, "STREAMS", k.requestStream, ">");

      const res = await fetcher("/dashboard/data.json", withCookie(cookie));
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const data = (await res.json()) as Data;
      expect(data.operator.operator_id).toBe(operatorId);
      expect(data.queue).toEqual({
        stream: k.requestStream,
        length: 2,
        lag: 1,
        pending: 1,
        consumers: 1,
        dead_letters: 0,
      });
      expect(data.runners).toEqual([
        expect.objectContaining({ runner_id: "runner-1", alive: true, targets: [target], in_hand: null }),
      ]);
      expect(data.targets).toEqual([
        {
          target,
          actions: ["redeploy", "restart"],
          replicas: 2,
          revision: "r7",
          runner_id: "runner-1",
          live: true,
        },
      ]);
      expect(data.requests.map((r) => [r.request_id, r.state])).toEqual([
        [first, "succeeded"],
        [second, "queued"],
      ]);
      const [done, queued] = data.requests as [
        DashboardData["requests"][number],
        DashboardData["requests"][number],
      ];
      expect(done).toMatchObject({
        agent_id: expect.any(String),
        target,
        action: "redeploy",
        finished: true,
        description: "first",
        detail: "rolled out",
      });
      expect(done.timeline.map((e) => e.state)).toEqual(["queued", "running", "succeeded"]);
      expect(done.duration_ms).toBe(Date.parse(done.updated_at) - Date.parse(done.created_at));
      expect(queued).toMatchObject({ finished: false, duration_ms: expect.any(Number) });
      expect(Object.keys(data.html).sort()).toEqual(["freshness", "queue", "requests", "runners", "targets"]);
      // The sections are the server's own escaped rendering of what agents wrote.
      expect(data.html.requests).toContain(first);
      expect(data.html.requests).toContain("second &lt;b&gt;bold&lt;/b&gt;");
      expect(data.html.requests).not.toContain("<b>bold");
    });

    it("each request shows what an upstream agent sent: priority, its time, files and test results, bounded and escaped", async () => {
      const files = Array.from({ length: 30 }, (_, i) =>
        i === 0 ? "<script>alert(1)</script>.py" : `f${i}.py`,
      );
      const upstream = {
        ...submission(target, "upstream agent"),
        id: crypto.randomUUID(),
        priority: 5,
        timestamp: "2026-12-01T23:34:55.317444",
        status: "proposed",
        files_changed: files,
        // 9 bytes before 2-byte characters: the 600-byte cut falls inside one.
        test_results: { logs: `</pre><b>${"é".repeat(2000)}` },
      };
      const small = {
        ...submission(target, "small"),
        test_results: { passed: 12, failed: 0 },
        priority: "low",
      };
      const bigId = await submit(fetcher, agentKey, upstream);
      const smallId = await submit(fetcher, agentKey, small);
      await transition(client, prefix, smallId, "running");
      await transition(client, prefix, smallId, "succeeded");

      const data = (await (await fetcher("/dashboard/data.json", withCookie(cookie))).json()) as Data;
      const big = data.requests.find((r) => r.request_id === bigId);
      expect(big).toMatchObject({
        evolution_status: "proposed",
        priority: "high",
        timestamp: "2026-12-01T23:34:55.317444Z",
        files_changed: files.slice(0, 20),
        files_more: 10,
        test_results_truncated: true,
      });
      const cut = big?.test_results ?? "";
      expect(new TextEncoder().encode(cut).length).toBeLessThanOrEqual(600);
      expect(new TextEncoder().encode(cut).length).toBeGreaterThan(590);
      expect(cut).toMatch(/^\{"logs":"<\\?\/pre><b>é+$/);
      expect(data.requests.find((r) => r.request_id === smallId)).toMatchObject({
        evolution_status: "completed",
        priority: "low",
        timestamp: null,
        files_changed: [],
        files_more: 0,
        test_results_truncated: false,
      });
      const smallResults = data.requests.find((r) => r.request_id === smallId)?.test_results ?? "";
      expect(JSON.parse(smallResults)).toEqual({ passed: 12, failed: 0 });

      const html = data.html.requests ?? "";
      expect(html).toContain("high priority");
      expect(html).toContain("2026-12-01T23:34:55.317444Z");
      expect(html).toContain("and 10 more");
      expect(html).toContain("f19.py");
      expect(html).not.toContain("f20.py");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;.py");
      expect(html).not.toContain("<script>alert");
      expect(html).not.toContain("</pre><b>");
      // Whole results are shown indented; the cut ones as they are, with an ellipsis.
      expect(html).toContain("{\n  &quot;passed&quot;: 12,\n  &quot;failed&quot;: 0\n}");
      expect(html).toMatch(/é…<\/pre>/);
      expect(html).toContain(">completed<");
    });

    it("wrong methods get 405 with Allow", async () => {
      const put = await fetcher("/dashboard", { method: "PUT" });
      await expectProblem(put, 405);
      expect(put.headers.get("allow")).toBe("GET, HEAD");
      const get = await fetcher("/dashboard/session");
      await expectProblem(get, 405);
      expect(get.headers.get("allow")).toBe("POST, DELETE");
    });

    it("refuses another site's sign-in and sign-out with 403, setting and clearing no cookie; its own page's work", async () => {
      const crossSite: Record<string, string>[] = [
        { "sec-fetch-site": "cross-site", origin: "http://evil.example" },
        { "sec-fetch-site": "same-site" },
        { origin: "http://evil.example" },
        { origin: "null" },
      ];
      for (const headers of crossSite) {
        // Login CSRF: the attacker's page posts the attacker's own (valid) key.
        const signIn = await postSignIn(fetcher, operatorKey, headers);
        const body = await expectProblem(signIn, 403);
        expect(body.type).toBe("urn:hypercode:problem:cross-site-request");
        expect(signIn.headers.get("set-cookie")).toBeNull();
        for (const init of [
          { method: "POST", path: "/dashboard/session/delete" },
          { method: "DELETE", path: "/dashboard/session" },
        ]) {
          const signOut = await fetcher(init.path, withCookie(cookie, { method: init.method, headers }));
          await expectProblem(signOut, 403);
          expect(signOut.headers.get("set-cookie")).toBeNull();
        }
      }
      expect((await fetcher("/dashboard/data.json", withCookie(cookie))).status).toBe(200);
      const page = await fetcher("/dashboard");
      expect(page.headers.get("referrer-policy")).toBe("same-origin");
      const own = await postSignIn(fetcher, operatorKey, { "sec-fetch-site": "same-origin" });
      expect(own.status).toBe(303);
      expect(own.headers.get("set-cookie")).toMatch(/^hypercode_operator=hco1\./);
    });

    it("signing out clears the cookie (POST .../delete from the page, or DELETE)", async () => {
      for (const init of [
        { method: "POST", path: "/dashboard/session/delete" },
        { method: "DELETE", path: "/dashboard/session" },
      ]) {
        const res = await fetcher(init.path, withCookie(cookie, { method: init.method }));
        expect(res.status).toBe(303);
        expect(res.headers.get("set-cookie")).toMatch(/^hypercode_operator=;.*Max-Age=0/);
      }
    });

    it("revoking the operator ends its session: data.json 401, the page the sign-in form (401) and the cookie cleared", async () => {
      expect((await fetcher("/dashboard/data.json", withCookie(cookie))).status).toBe(200);
      await revokeOperator(client, prefix, operatorId);
      await expectProblem(await fetcher("/dashboard/data.json", withCookie(cookie)), 401);
      const page = await fetcher("/dashboard", withCookie(cookie));
      expect(page.status).toBe(401);
      expect(page.headers.get("set-cookie")).toMatch(/^hypercode_operator=;/);
      expect(await page.text()).toMatch(/was revoked at/);
      const again = await postSignIn(fetcher, operatorKey);
      expect(again.status).toBe(401);
      expect(await again.text()).toMatch(/was revoked at/);
    });
  });
};

dashboardSuite("Node (real HTTP)", async (prefix) => {
  const intake = await startNodeTestIntake({ redisUrl: redisUrl(), prefix });
  return { fetcher: httpFetcher(intake.baseUrl), stop: intake.stop };
});

dashboardSuite(
  "Workers (workerd via wrangler dev + @upstash/redis through the REST bridge)",
  async (prefix) => {
    const intake = await startWorkersIntake({ redisUrl: redisUrl(), prefix });
    return { fetcher: httpFetcher(intake.baseUrl), stop: intake.stop };
  },
);

describe("the dashboard in process", () => {
  const build = (redis: RedisPort, prefix: string) => {
    const app = createApp({
      redis,
      config: parseIntakeConfig({ KEY_PREFIX: prefix }),
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });
    const fetcher: Fetcher = async (path, init) => app.request(path, init);
    return fetcher;
  };

  it("reads everything for a refresh in one script call", async () => {
    const prefix = newPrefix();
    const port = new CountingPort(new IoredisAdapter(client));
    const fetcher = build(port, prefix);
    const cookie = sessionCookie(await postSignIn(fetcher, await addOperator(client, prefix, "ops")));
    await fetcher("/dashboard/data.json", withCookie(cookie)); // loads the script if the server lacks it
    port.calls = [];
    expect((await fetcher("/dashboard/data.json", withCookie(cookie))).status).toBe(200);
    expect(port.calls).toEqual(["evalsha"]);
  });

  it("marks the cookie Secure when the browser came over https, directly or through a proxy", async () => {
    const prefix = newPrefix();
    const fetcher = build(new IoredisAdapter(client), prefix);
    const key = await addOperator(client, prefix, "ops");
    const direct = await fetcher("https://dashboard.example/dashboard/session", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key }).toString(),
    });
    expect(direct.headers.get("set-cookie")).toMatch(/; Secure/);
    const proxied = await postSignIn(fetcher, key, { "x-forwarded-proto": "https" });
    expect(proxied.headers.get("set-cookie")).toMatch(/; Secure/);
  });

  it("while Redis is unreachable: data.json 503, the page a 'Redis unreachable' banner, sign-in the form with 503", async () => {
    const prefix = newPrefix();
    const key = await addOperator(client, prefix, "ops");
    const dead = createIoredisClient(`redis://127.0.0.1:${await freePort()}`);
    dead.on("error", () => {});
    try {
      const fetcher = build(new IoredisAdapter(dead), prefix);
      const cookie = `hypercode_operator=${key}`;
      const data = await fetcher("/dashboard/data.json", withCookie(cookie));
      await expectProblem(data, 503);
      expect(data.headers.get("retry-after")).toMatch(/^\d+$/);
      const page = await fetcher("/dashboard", withCookie(cookie));
      expect(page.status).toBe(503);
      expect(await page.text()).toMatch(/Redis unreachable/);
      const signIn = await postSignIn(fetcher, key);
      expect(signIn.status).toBe(503);
      expect(await signIn.text()).toMatch(/Redis unreachable/);
      expect(signIn.headers.get("set-cookie")).toBeNull();
    } finally {
      dead.disconnect();
    }
  });

  it("accepts a sign-in whose Origin is its own (through a TLS proxy too) or PUBLIC_URL's, and no other", async () => {
    const prefix = newPrefix();
    const key = await addOperator(client, prefix, "ops");
    const app = createApp({
      redis: new IoredisAdapter(client),
      config: parseIntakeConfig({ KEY_PREFIX: prefix, PUBLIC_URL: "https://ops.example.com/hc/" }),
      clock: Date.now,
      newId: () => crypto.randomUUID(),
      runtime: "node",
    });
    const fetcher: Fetcher = async (path, init) => app.request(path, init);
    const signIn = (headers: Record<string, string>) => postSignIn(fetcher, key, headers);
    expect((await signIn({ origin: "http://localhost" })).status).toBe(303);
    expect((await signIn({ origin: "https://localhost", "x-forwarded-proto": "https" })).status).toBe(303);
    expect((await signIn({ origin: "https://ops.example.com" })).status).toBe(303);
    expect((await signIn({})).status).toBe(303); // no browser: curl, the CLI
    expect((await signIn({ "sec-fetch-site": "none" })).status).toBe(303);
    await expectProblem(await signIn({ origin: "https://localhost" }), 403);
    await expectProblem(await signIn({ origin: "http://ops.example.com" }), 403);
    await expectProblem(await signIn({ origin: "https://ops.example.com.evil.example" }), 403);
  });

  it("refuses a sign-in form larger than a key could be with 413", async () => {
    const fetcher = build(new IoredisAdapter(client), newPrefix());
    await expectProblem(await postSignIn(fetcher, "x".repeat(10_000)), 413);
  });
});
