/**
 * The page's only script, inlined with the CSP nonce. Every second it fetches data.json and puts
 * the server-rendered sections in place, keeping the timelines the operator opened open. A 401
 * (key revoked, session expired) reloads the page, which then shows the sign-in form; any other
 * failure shows the banner and keeps the last data on screen.
 */
export const LIVE_SCRIPT = `(() => {
  const POLL_MS = 1000;
  const banner = document.getElementById("banner");
  const opened = new Set();
  const shown = {};
  document.addEventListener("toggle", (e) => {
    const id = e.target.dataset && e.target.dataset.request;
    if (id) e.target.open ? opened.add(id) : opened.delete(id);
  }, true);
  const failed = (message) => {
    banner.textContent = message + " Showing the last data received; retrying every second.";
    banner.hidden = false;
    document.body.classList.add("stale");
  };
  const tick = async () => {
    try {
      const res = await fetch("/dashboard/data.json", { cache: "no-store", headers: { accept: "application/json" } });
      if (res.status === 401) return location.reload();
      if (res.status === 503) return failed("Redis unreachable.");
      if (!res.ok) return failed("The intake answered " + res.status + ".");
      const data = await res.json();
      for (const [name, html] of Object.entries(data.html)) {
        const el = document.querySelector('[data-section="' + name + '"]');
        if (el && shown[name] !== html) {
          el.innerHTML = html;
          shown[name] = html;
        }
      }
      for (const d of document.querySelectorAll("details[data-request]")) {
        if (opened.has(d.dataset.request)) d.open = true;
      }
      banner.hidden = true;
      document.body.classList.remove("stale");
    } catch (err) {
      failed("The intake is not answering.");
    } finally {
      setTimeout(tick, POLL_MS);
    }
  };
  setTimeout(tick, POLL_MS);
})();`;
