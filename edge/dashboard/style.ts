/** The dashboard's whole stylesheet, inlined with the page's nonce: no external assets. */
export const STYLE = `
:root {
  --bg: #f5f6f8; --card: #fff; --line: #e4e7ec; --text: #1c2230; --muted: #667085;
  --accent: #3451d1; --radius: 10px;
  --grey-bg: #eef0f3; --grey: #475467; --blue-bg: #e8efff; --blue: #2448c8;
  --green-bg: #e3f5e9; --green: #137333; --red-bg: #fdecea; --red: #b42318;
  --amber-bg: #fff3dc; --amber: #9a5b00; --violet-bg: #f0ebfd; --violet: #6535c9;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
a { color: var(--accent); }
header.top { background: #141a2e; color: #fff; }
header.top .inner { max-width: 1240px; margin: 0 auto; padding: 12px 24px; display: flex;
  align-items: center; gap: 16px; }
.brand { font-weight: 650; letter-spacing: .2px; font-size: 15px; }
.brand span { color: #9fb0ff; font-weight: 500; }
.spacer { flex: 1; }
.who { color: #c9d0e6; font-size: 13px; }
.live { display: inline-flex; align-items: center; gap: 6px; color: #c9d0e6; font-size: 13px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #3ccf6e;
  box-shadow: 0 0 0 3px rgba(60, 207, 110, .25); }
body.stale .live::before { background: #f04438; box-shadow: 0 0 0 3px rgba(240, 68, 56, .25); }
header.top form { margin: 0; }
header.top button { background: transparent; color: #fff; border: 1px solid #3b4566; border-radius: 6px;
  padding: 4px 10px; font: inherit; font-size: 13px; cursor: pointer; }
header.top button:hover { background: #232b47; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 24px 40px; }
body.stale main { opacity: .65; }
.banner { background: var(--red-bg); color: var(--red); border: 1px solid #f6c9c4; border-radius: var(--radius);
  padding: 10px 14px; margin-bottom: 16px; font-weight: 550; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 20px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 12px 14px; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.stat .value { font-size: 26px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.stat .hint { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stat.warn .value { color: var(--red); }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-bottom: 20px; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); overflow: hidden; }
.card h2 { margin: 0; padding: 12px 16px; font-size: 14px; font-weight: 650; border-bottom: 1px solid var(--line);
  display: flex; align-items: baseline; gap: 8px; }
.card h2 .count { color: var(--muted); font-weight: 500; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; color: var(--muted); font-weight: 550; font-size: 12px; padding: 8px 16px;
  border-bottom: 1px solid var(--line); }
td { padding: 8px 16px; border-bottom: 1px solid var(--line); vertical-align: middle; font-size: 13px; }
tr:last-child td { border-bottom: 0; }
.empty { padding: 16px; color: var(--muted); }
.muted { color: var(--muted); }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--green); }
.dot.off { background: #98a2b3; }
.tag { display: inline-block; background: var(--grey-bg); color: var(--grey); border-radius: 5px; padding: 0 6px;
  margin: 1px 2px 1px 0; font-size: 12px; }
.pill { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px; font-weight: 600;
  white-space: nowrap; background: var(--grey-bg); color: var(--grey); }
.s-running, .s-building, .s-deploying { background: var(--blue-bg); color: var(--blue); }
.s-succeeded { background: var(--green-bg); color: var(--green); }
.s-failed, .s-rejected, .s-dead_lettered { background: var(--red-bg); color: var(--red); }
.s-rolled_back { background: var(--amber-bg); color: var(--amber); }
.s-coalesced { background: var(--violet-bg); color: var(--violet); }
.reqs .row { display: grid; grid-template-columns: 118px minmax(0, 1fr) 130px 130px 110px 86px 96px;
  gap: 12px; align-items: center; padding: 9px 16px; }
.reqs .head { color: var(--muted); font-size: 12px; font-weight: 550; border-bottom: 1px solid var(--line); }
.reqs details { border-bottom: 1px solid var(--line); }
.reqs details:last-child { border-bottom: 0; }
.reqs summary { list-style: none; cursor: pointer; }
.reqs summary::-webkit-details-marker { display: none; }
.reqs summary:hover { background: #f9fafb; }
.reqs details[open] > summary { background: #f4f6fb; }
.reqs .what { min-width: 0; }
.reqs .what .desc { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.reqs .what .id { color: var(--muted); }
.reqs .num { font-variant-numeric: tabular-nums; }
.ellipsis { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.timeline { margin: 0; padding: 6px 16px 14px 146px; list-style: none; background: #f4f6fb; }
.timeline li { position: relative; padding: 4px 0 4px 20px; display: grid;
  grid-template-columns: 80px 110px minmax(0, 1fr); gap: 10px; align-items: baseline; }
.timeline li::before { content: ""; position: absolute; left: 3px; top: 0; bottom: 0; width: 2px; background: #d0d5dd; }
.timeline li:first-child::before { top: 12px; }
.timeline li:last-child::before { bottom: calc(100% - 12px); }
.timeline li::after { content: ""; position: absolute; left: 0; top: 9px; width: 8px; height: 8px; border-radius: 50%;
  background: #98a2b3; }
.timeline li.t-succeeded::after { background: var(--green); }
.timeline li.t-failed::after, .timeline li.t-rejected::after, .timeline li.t-dead_lettered::after { background: var(--red); }
.timeline li.t-running::after, .timeline li.t-building::after, .timeline li.t-deploying::after { background: var(--blue); }
.timeline li.t-rolled_back::after { background: var(--amber); }
.timeline .at { color: var(--muted); }
.reqs .evo { display: block; color: var(--muted); font-size: 11.5px; margin: 2px 0 0 9px; }
.reqs .what .tag { margin-left: 8px; }
.facts { margin: 0; padding: 0 16px 14px 146px; background: #f4f6fb; display: grid;
  grid-template-columns: 110px minmax(0, 1fr); gap: 4px 10px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; min-width: 0; }
.facts .files { margin: 0; padding: 0; list-style: none; }
.facts .files li { overflow-wrap: anywhere; }
.facts pre { margin: 0; max-height: 220px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
.signin { max-width: 420px; margin: 12vh auto 0; background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; padding: 28px; box-shadow: 0 8px 30px rgba(16, 24, 40, .06); }
.signin h1 { font-size: 18px; margin: 0 0 4px; }
.signin p { color: var(--muted); margin: 0 0 18px; }
.signin label { display: block; font-weight: 550; margin-bottom: 6px; }
.signin input { width: 100%; padding: 9px 11px; border: 1px solid #cfd4dc; border-radius: 8px; font: inherit; }
.signin input:focus { outline: 2px solid #c7d2fe; border-color: var(--accent); }
.signin button { margin-top: 14px; width: 100%; padding: 9px; border: 0; border-radius: 8px; background: var(--accent);
  color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
.signin .error { background: var(--red-bg); color: var(--red); border-radius: 8px; padding: 8px 10px; margin-bottom: 14px; }
`;
