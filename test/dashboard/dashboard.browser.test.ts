import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRedis } from "../../cli/local-redis.js";
import type { DeployContext, DeployOutcome } from "../../runner/ports.js";
import { listen } from "../../shared/node/listen.js";
import type { ImprovementRequest } from "../../shared/protocol/index.js";
import { createIoredisClient } from "../../shared/redis/ioredis-adapter.js";
import { addOperator, revokeOperator } from "../support/dashboard.js";
import { addAgent } from "../support/fixtures.js";
import type { RunningIntake } from "../support/intake-runtime.js";
import { startNodeTestIntake } from "../support/node-intake.js";
import { deletePrefix, freshPrefix, redisUrl, testClient } from "../support/redis.js";
import {
  newGate,
  startTestRunner,
  TestCatalog,
  TestDeployer,
  type TestRunner,
  waitFor,
} from "../support/runner.js";

/**
 * The dashboard in real headless Chromium, against a real Node intake over HTTP and a real runner
 * (createRunner: consumer group, status, publishing) whose Docker side is a scripted test
 * deployer. With UPDATE_SCREENSHOT=1 it saves docs/dashboard.png.
 */

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
// The committed screenshot is refreshed on demand (UPDATE_SCREENSHOT=1), so a test run leaves the
// working tree as it found it; otherwise it goes to the temp dir and is only checked.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? join(import.meta.dirname, "..", "..", "docs", "dashboard.png")
  : join(tmpdir(), `hypercode-dashboard-${process.pid}.png`);

/**
 * A deployer that holds each request where the test wants it: validation waits until the page
 * has shown the request as queued, a rebuild waits in `deploying` until the test releases it.
 */
class ScriptedDeployer extends TestDeployer {
  readonly queuedSeen = newGate();
  readonly release = newGate();
  /** Held until teardown, so the screenshot shows one request in flight. */
  readonly hold = newGate();

  constructor(
    runnerId: string,
    private readonly catalog: TestCatalog,
  ) {
    super(runnerId);
    this.behaviour = (ctx) => this.carryOut(ctx);
  }

  override async validate(request: ImprovementRequest): Promise<void> {
    if (request.payload.action === "rebuild") await this.queuedSeen.wait;
    await super.validate(request);
  }

  private async carryOut(ctx: DeployContext): Promise<DeployOutcome> {
    const { action } = ctx.request.payload;
    if (action === "rebuild") {
      await ctx.progress("building", "building web from ./web (build arg OPENSSL=3.0.15)");
      await ctx.progress("deploying", "2 new replicas started beside the old ones; waiting for health");
      await this.release.wait;
      const revision = "web-7c1e2a9";
      this.catalog.targets = this.catalog.targets.map((t) => (t.name === "web" ? { ...t, revision } : t));
      return { state: "succeeded", detail: "2/2 replicas healthy; old ones drained and removed", revision };
    }
    if (action === "restart") {
      await ctx.progress("deploying", "restarting 1 replica");
      return {
        state: "rolled_back",
        detail: "the new container never became healthy in 60 s; the old one kept serving",
      };
    }
    await ctx.progress("deploying", "scaling api from 2 to 3 replicas");
    await Promise.race([this.hold.wait, new Promise((r) => ctx.signal.addEventListener("abort", r))]);
    return { state: "succeeded", detail: "3/3 replicas healthy" };
  }
}

const stateOf = (page: Page, requestId: string) =>
  page.locator(`details[data-request="${requestId}"] summary .pill`).textContent();

/** Waits until the page, updated by its own script, shows the request in `state`. */
const waitForState = (page: Page, requestId: string, state: string) =>
  page.waitForFunction(
    ([id, s]) => document.querySelector(`details[data-request="${id}"] summary .pill`)?.textContent === s,
    [requestId, state] as const,
    { timeout: 15_000 },
  );

describe("the dashboard in headless Chromium", () => {
  const prefix = freshPrefix();
  let client: Redis;
  let intake: RunningIntake | undefined;
  let runner: TestRunner | undefined;
  let deployer: ScriptedDeployer;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let operatorKey: string;
  let agentKey: string;
  let sreKey: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    client = testClient();
    intake = await startNodeTestIntake({ redisUrl: redisUrl(), prefix });
    operatorKey = await addOperator(client, prefix, "alice");
    agentKey = await addAgent(client, prefix, { id: "coder-agent", targets: ["web"], actions: ["rebuild"] });
    sreKey = await addAgent(client, prefix, {
      id: "sre-agent",
      targets: ["api"],
      actions: ["restart", "scale"],
    });
    const catalog = new TestCatalog([
      { name: "web", actions: ["rebuild", "redeploy", "rollback"], replicas: 2, revision: "web-41d0b7e" },
      { name: "api", actions: ["restart", "scale"], replicas: 2, revision: "api-9e3f5c2" },
    ]);
    deployer = new ScriptedDeployer("runner-a", catalog);
    runner = await startTestRunner(prefix, { deployer, catalog });
    await waitFor(
      "the runner to publish its targets",
      async () => (await client.hlen(`${prefix}hypercode:targets`)) === 2,
    );

    userDataDir = mkdtempSync(join(tmpdir(), "hypercode-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
    });
  });

  afterAll(async () => {
    deployer?.queuedSeen.open();
    deployer?.release.open();
    deployer?.hold.open();
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await runner?.stop();
    await intake?.stop();
    await deletePrefix(client, prefix);
    await client.quit();
  });

  const submit = async (key: string, body: Record<string, unknown>): Promise<string> => {
    const res = await fetch(new URL("/v1/improvements", intake?.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { request_id: string }).request_id;
  };

  it("signs in, shows a request queued, follows it live to succeeded, opens its timeline, saves a screenshot", async () => {
    const page = (context as BrowserContext).pages()[0] ?? (await (context as BrowserContext).newPage());
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });

    // Signed out: the form. A wrong key is refused on the page itself.
    await page.goto(`${intake?.baseUrl}/dashboard`);
    await page.fill("#key", agentKey);
    await page.click("button[type=submit]");
    await page.waitForSelector(".signin .error");
    expect(await page.textContent(".signin .error")).toMatch(/That is an agent key/);
    pageErrors.length = 0; // the 401 of that refusal is logged by the browser as a failed load

    await page.fill("#key", operatorKey);
    await Promise.all([page.waitForURL(/\/dashboard$/), page.click("button[type=submit]")]);
    expect(await page.textContent("header.top")).toContain("signed in as alice");
    expect(await page.textContent('[data-section="runners"]')).toContain("runner-a");
    expect(await page.textContent('[data-section="targets"]')).toContain("web-41d0b7e");

    // Mark this document: it must be the same one when the request has finished (no reload).
    let loads = 0;
    page.on("load", () => loads++);
    await page.evaluate(() => {
      (window as unknown as { marker: string }).marker = "same document";
    });

    const id = await submit(agentKey, {
      target_agent: "web",
      improvement_type: "security",
      description: "Rebuild web with OpenSSL 3.0.15 (CVE-2024-5535)",
      payload: { action: "rebuild", build_args: { OPENSSL: "3.0.15" } },
      priority: 4,
      files_changed: ["web/Dockerfile", "web/openssl.version"],
      test_results: { passed: 42, failed: 0 },
    });
    await waitForState(page, id, "queued");
    const row = page.locator(`details[data-request="${id}"] summary`);
    expect(await row.textContent()).toMatch(/coder-agent.*web.*rebuild/);

    deployer.queuedSeen.open();
    await waitForState(page, id, "deploying");
    deployer.release.open();
    await waitForState(page, id, "succeeded");
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe(
      "same document",
    );
    expect(loads).toBe(0);
    // The new revision the runner published reaches the targets table too.
    await page.waitForFunction(
      () => document.querySelector('[data-section="targets"]')?.textContent?.includes("web-7c1e2a9"),
      undefined,
      { timeout: 15_000 },
    );

    // The timeline opens on click and stays open through the next refreshes.
    await row.click();
    const timeline = page.locator(`details[data-request="${id}"] .timeline`);
    await timeline.waitFor({ state: "visible" });
    await page.waitForTimeout(2500);
    expect(await timeline.isVisible()).toBe(true);
    expect(await timeline.locator("li .pill").allTextContents()).toEqual([
      "queued",
      "running",
      "building",
      "deploying",
      "succeeded",
    ]);
    expect(await timeline.textContent()).toContain("old ones drained and removed");
    // What an upstream agent sends beside the change opens with it.
    const facts = page.locator(`details[data-request="${id}"] .facts`);
    expect(await facts.isVisible()).toBe(true);
    expect(await facts.locator(".files li").allTextContents()).toEqual([
      "web/Dockerfile",
      "web/openssl.version",
    ]);
    expect(await facts.locator("pre").textContent()).toBe('{\n  "passed": 42,\n  "failed": 0\n}');
    expect(await row.textContent()).toMatch(/succeeded\s*completed.*high priority/);

    // Two more requests, so the picture shows more than one outcome: one rolled back, one in flight.
    const restart = await submit(sreKey, {
      target_agent: "api",
      improvement_type: "reliability",
      description: "Restart api: p99 latency above 2 s for 10 min",
      payload: { action: "restart" },
    });
    await waitForState(page, restart, "rolled_back");
    const scale = await submit(sreKey, {
      target_agent: "api",
      improvement_type: "performance",
      description: "Scale api to 3 replicas for the evening peak",
      payload: { action: "scale", replicas: 3 },
    });
    await waitForState(page, scale, "deploying");
    expect(await stateOf(page, id)).toBe("succeeded");
    expect(await timeline.isVisible()).toBe(true);
    expect(pageErrors).toEqual([]);

    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    if (!process.env.UPDATE_SCREENSHOT) rmSync(SCREENSHOT, { force: true });
  }, 90_000);

  it("shows 'Redis unreachable' while Redis is down, keeps the last data, and recovers by itself", async () => {
    // An intake of its own on a Redis of its own, which this test stops and starts again (with
    // its data on disk). Served as localhost, so its cookie is not the other intake's.
    const dir = mkdtempSync(join(tmpdir(), "hypercode-redis-"));
    let own = await startLocalRedis({ dir, appendfsync: "always" });
    const ownClient = createIoredisClient(own.url, { enableOfflineQueue: true });
    ownClient.on("error", () => {});
    const ownIntake = await startNodeTestIntake({ redisUrl: own.url, prefix });
    const page = await (context as BrowserContext).newPage();
    try {
      const key = await addOperator(ownClient, prefix, "bob");
      const base = ownIntake.baseUrl.replace("127.0.0.1", "localhost");
      await page.goto(`${base}/dashboard`);
      await page.fill("#key", key);
      await Promise.all([page.waitForURL(/\/dashboard$/), page.click("button[type=submit]")]);
      const banner = page.locator("#banner");
      expect(await banner.isHidden()).toBe(true);

      await own.stop();
      await banner.waitFor({ state: "visible", timeout: 15_000 });
      expect(await banner.textContent()).toMatch(/^Redis unreachable\. Showing the last data received/);
      expect(await page.textContent("header.top")).toContain("signed in as bob");

      own = await startLocalRedis({ dir, port: own.port, appendfsync: "always" });
      await banner.waitFor({ state: "hidden", timeout: 15_000 });
      expect(await page.textContent("header.top")).toContain("signed in as bob");
    } finally {
      await page.close();
      await ownIntake.stop();
      ownClient.disconnect();
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("a page on another site that auto-submits a sign-in or a sign-out form is refused; the session stays", async () => {
    const ctx = context as BrowserContext;
    const attackerKey = await addOperator(client, prefix, "mallory");
    const cookieBefore = (await ctx.cookies(`${intake?.baseUrl}/dashboard`)).find(
      (k) => k.name === "hypercode_operator",
    );
    expect(cookieBefore?.value).toBe(operatorKey);
    const forms = {
      "/signin": `<form method="post" action="${intake?.baseUrl}/dashboard/session"><input name="key" value="${attackerKey}"></form>`,
      "/signout": `<form method="post" action="${intake?.baseUrl}/dashboard/session/delete"></form>`,
    };
    // Another site: the intake is 127.0.0.1, this page localhost.
    const evil = await listen(
      (req) =>
        new Response(
          `<!doctype html><body>${forms[new URL(req.url).pathname as keyof typeof forms]}<script>document.forms[0].submit()</script>`,
          { headers: { "content-type": "text/html" } },
        ),
      { host: "127.0.0.1" },
    );
    const page = await ctx.newPage();
    try {
      for (const path of Object.keys(forms)) {
        const refused = page.waitForResponse((r) =>
          r.url().startsWith(`${intake?.baseUrl}/dashboard/session`),
        );
        await page.goto(`${evil.url.replace("127.0.0.1", "localhost")}${path}`);
        const res = await refused;
        expect(res.status()).toBe(403);
        expect(await res.text()).toContain("cross-site-request");
      }
      const cookieAfter = (await ctx.cookies(`${intake?.baseUrl}/dashboard`)).find(
        (k) => k.name === "hypercode_operator",
      );
      expect(cookieAfter?.value).toBe(operatorKey);
    } finally {
      await page.close();
      await evil.close();
    }
  }, 30_000);

  it("a revoked operator is sent back to the sign-in form by the page's next refresh", async () => {
    const page = (context as BrowserContext).pages()[0] as Page;
    await revokeOperator(client, prefix, "alice");
    await page.waitForSelector(".signin .error", { timeout: 15_000 });
    expect(await page.textContent(".signin .error")).toMatch(/was revoked at/);
  }, 30_000);
});
