// `node /app/healthcheck.mjs <url> [status]`: exits 0 when a GET of <url> answers <status> (default:
// any 2xx), 1 otherwise. The images have node but no curl or wget; Docker HEALTHCHECKs call this.
const [url, expected] = process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: node healthcheck.mjs <url> [status]\n");
  process.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const ok = expected === undefined ? res.ok : res.status === Number(expected);
  if (!ok) process.stderr.write(`${url} answered ${res.status}\n`);
  process.exit(ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`${url}: ${err.cause?.code ?? err.message}\n`);
  process.exit(1);
}
