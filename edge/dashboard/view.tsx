import type { Child, FC } from "hono/jsx";
import type { DashboardData, RequestView } from "./data.js";
import { formatAgo, formatClock, formatDuration } from "./format.js";
import { LIVE_SCRIPT } from "./live.js";
import { RequestFacts } from "./request-facts.js";
import { STYLE } from "./style.js";

/**
 * The dashboard's markup, server-rendered with Hono JSX (which escapes every value). The same
 * section components render the first page and every live update (`renderSections`), so the two
 * never drift and the page needs no client-side templates.
 */

const Layout: FC<{ title: string; nonce: string; refreshSeconds?: number; children?: Child }> = (p) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      {p.refreshSeconds ? <meta http-equiv="refresh" content={String(p.refreshSeconds)} /> : null}
      <title>{p.title}</title>
      <link rel="icon" href="data:," />
      <style nonce={p.nonce} dangerouslySetInnerHTML={{ __html: STYLE }} />
    </head>
    {p.children}
  </html>
);

export const SignInPage: FC<{ nonce: string; error?: string }> = ({ nonce, error }) => (
  <Layout title="Sign in · HyperCode" nonce={nonce}>
    <body>
      <form class="signin" method="post" action="/dashboard/session">
        <h1>HyperCode dashboard</h1>
        <p>
          Sign in with an operator key. Create one with <code>hypercode operators add &lt;id&gt;</code>.
        </p>
        {error ? (
          <div class="error" role="alert">
            {error}
          </div>
        ) : null}
        <label for="key">Operator key</label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="hco1.…"
          required
          autofocus
        />
        <button type="submit">Sign in</button>
      </form>
    </body>
  </Layout>
);

/** Shown when Redis cannot be reached at all: nothing to check the key against, nothing to show. */
export const UnavailablePage: FC<{ nonce: string }> = ({ nonce }) => (
  <Layout title="Redis unreachable · HyperCode" nonce={nonce} refreshSeconds={2}>
    <body>
      <main>
        <div class="banner" role="alert">
          Redis unreachable: the dashboard cannot read the queue. This page retries every 2 seconds.
        </div>
      </main>
    </body>
  </Layout>
);

const Pill: FC<{ state: string }> = ({ state }) => <span class={`pill s-${state}`}>{state}</span>;

const Stat: FC<{ label: string; value: Child; hint: string; warn?: boolean }> = (p) => (
  <div class={p.warn ? "stat warn" : "stat"}>
    <div class="label">{p.label}</div>
    <div class="value">{p.value}</div>
    <div class="hint" title={p.hint}>
      {p.hint}
    </div>
  </div>
);

const QueueSection: FC<{ data: DashboardData }> = ({ data }) => {
  const q = data.queue;
  const alive = data.runners.filter((r) => r.alive).length;
  return (
    <div class="stats">
      <Stat label="Waiting" value={q.lag ?? "?"} hint="not yet read by a runner (lag)" />
      <Stat label="In flight" value={q.pending} hint="read, not yet acknowledged" />
      <Stat
        label="Runners alive"
        value={alive}
        hint={`${q.consumers} in the consumer group`}
        warn={alive === 0}
      />
      <Stat
        label="Dead letters"
        value={q.dead_letters}
        hint="gave up; see 'hypercode dlq'"
        warn={q.dead_letters > 0}
      />
      <Stat label="Stream length" value={q.length} hint={q.stream} />
    </div>
  );
};

const Tags: FC<{ items: readonly string[] }> = ({ items }) => (
  <>
    {items.map((i) => (
      <span class="tag">{i}</span>
    ))}
  </>
);

const RunnersSection: FC<{ data: DashboardData; now: number }> = ({ data, now }) => (
  <div class="card">
    <h2>
      Runners <span class="count">{data.runners.filter((r) => r.alive).length} alive</span>
    </h2>
    {data.runners.length === 0 ? (
      <div class="empty">No runner has reported. Start one beside the Docker socket: hypercode runner.</div>
    ) : (
      <table>
        <thead>
          <tr>
            <th>Runner</th>
            <th>Serving</th>
            <th>In hand</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {data.runners.map((r) => (
            <tr>
              <td class="mono">
                <span class={r.alive ? "dot" : "dot off"} title={r.alive ? "alive" : "stopped reporting"} />
                {r.runner_id}
              </td>
              <td>
                <Tags items={r.targets} />
              </td>
              <td class="mono ellipsis">{r.in_hand ?? <span class="muted">idle</span>}</td>
              <td title={r.seen_at}>{formatAgo(r.seen_at, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </div>
);

const TargetsSection: FC<{ data: DashboardData }> = ({ data }) => (
  <div class="card">
    <h2>
      Targets <span class="count">{data.targets.length}</span>
    </h2>
    {data.targets.length === 0 ? (
      <div class="empty">No targets published. Label a service hypercode.enable=true on a runner's host.</div>
    ) : (
      <table>
        <thead>
          <tr>
            <th>Target</th>
            <th>Actions</th>
            <th>Replicas</th>
            <th>Revision</th>
          </tr>
        </thead>
        <tbody>
          {data.targets.map((t) => (
            <tr>
              <td>
                <span
                  class={t.live ? "dot" : "dot off"}
                  title={t.live ? `served by ${t.runner_id}` : "expired"}
                />
                {t.target}
              </td>
              <td>
                <Tags items={t.actions} />
              </td>
              <td class="num">{t.replicas ?? "–"}</td>
              <td class="mono">{t.revision ?? <span class="muted">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </div>
);

const Timeline: FC<{ r: RequestView }> = ({ r }) => (
  <ol class="timeline">
    {r.timeline.map((e) => (
      <li class={`t-${e.state}`}>
        <span class="at mono" title={e.at}>
          {formatClock(e.at)}
        </span>
        <span>
          <Pill state={e.state} />
        </span>
        <span>{e.detail ?? ""}</span>
      </li>
    ))}
    {r.revision ? (
      <li>
        <span class="at">revision</span>
        <span class="mono">{r.revision}</span>
        <span />
      </li>
    ) : null}
  </ol>
);

const RequestRow: FC<{ r: RequestView; now: number }> = ({ r, now }) => (
  <details data-request={r.request_id}>
    <summary class="row">
      <span>
        <Pill state={r.state} />
        <span class="evo" title="the state in the original HyperCode system's words (EvolutionStatus)">
          {r.evolution_status}
        </span>
      </span>
      <span class="what">
        <span class="desc" title={r.description ?? ""}>
          {r.description ?? r.action}
        </span>
        <span class="id mono">{r.request_id}</span>
        {r.priority ? <span class="tag">{r.priority} priority</span> : null}
      </span>
      <span class="ellipsis">{r.agent_id}</span>
      <span class="ellipsis">{r.target}</span>
      <span>{r.action}</span>
      <span class="num" title={r.finished ? "from accepted to finished" : "so far"}>
        {formatDuration(r.duration_ms)}
      </span>
      <span title={r.updated_at}>{formatAgo(r.updated_at, now)}</span>
    </summary>
    <Timeline r={r} />
    <RequestFacts r={r} />
  </details>
);

const RequestsSection: FC<{ data: DashboardData; now: number }> = ({ data, now }) => (
  <div class="card reqs">
    <h2>
      Recent requests <span class="count">newest first · click one for its timeline</span>
    </h2>
    {data.requests.length === 0 ? (
      <div class="empty">No requests yet.</div>
    ) : (
      <>
        <div class="row head">
          <span>State</span>
          <span>Request</span>
          <span>Agent</span>
          <span>Target</span>
          <span>Action</span>
          <span>Duration</span>
          <span>Updated</span>
        </div>
        {data.requests.map((r) => (
          <RequestRow r={r} now={now} />
        ))}
      </>
    )}
  </div>
);

const Freshness: FC<{ data: DashboardData }> = ({ data }) => (
  <span class="live" title={data.generated_at}>
    live · {formatClock(data.generated_at)} UTC
  </span>
);

/** Each live part of the page by the name of its container (`data-section`). */
const SECTIONS = {
  freshness: (d: DashboardData) => <Freshness data={d} />,
  queue: (d: DashboardData) => <QueueSection data={d} />,
  runners: (d: DashboardData, now: number) => <RunnersSection data={d} now={now} />,
  targets: (d: DashboardData) => <TargetsSection data={d} />,
  requests: (d: DashboardData, now: number) => <RequestsSection data={d} now={now} />,
};
type SectionName = keyof typeof SECTIONS;

const Section: FC<{ name: SectionName; data: DashboardData; now: number; tag?: "span" }> = (p) =>
  p.tag === "span" ? (
    <span data-section={p.name}>{SECTIONS[p.name](p.data, p.now)}</span>
  ) : (
    <section data-section={p.name}>{SECTIONS[p.name](p.data, p.now)}</section>
  );

/** The sections as HTML, for the live script to put in place. */
export const renderSections = async (
  data: DashboardData,
  now: number,
): Promise<Record<SectionName, string>> => {
  const names = Object.keys(SECTIONS) as SectionName[];
  const html = await Promise.all(names.map(async (n) => String(await SECTIONS[n](data, now).toString())));
  return Object.fromEntries(names.map((n, i) => [n, html[i] as string])) as Record<SectionName, string>;
};

export const DashboardPage: FC<{ nonce: string; data: DashboardData; now: number }> = ({
  nonce,
  data,
  now,
}) => (
  <Layout title="HyperCode dashboard" nonce={nonce}>
    <body>
      <header class="top">
        <div class="inner">
          <div class="brand">
            HyperCode <span>operator dashboard</span>
          </div>
          <div class="spacer" />
          <Section name="freshness" data={data} now={now} tag="span" />
          <span class="who">signed in as {data.operator.operator_id}</span>
          <form method="post" action="/dashboard/session/delete">
            <button type="submit">Sign out</button>
          </form>
        </div>
      </header>
      <main>
        <div id="banner" class="banner" role="alert" hidden />
        <Section name="queue" data={data} now={now} />
        <div class="cols">
          <Section name="runners" data={data} now={now} />
          <Section name="targets" data={data} now={now} />
        </div>
        <Section name="requests" data={data} now={now} />
      </main>
      <script nonce={nonce} dangerouslySetInnerHTML={{ __html: LIVE_SCRIPT }} />
    </body>
  </Layout>
);
