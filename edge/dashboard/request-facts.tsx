import type { FC } from "hono/jsx";
import type { RequestView } from "./data.js";

/**
 * What an agent of the original HyperCode system sends beside the change itself: priority, its
 * own time of writing, the files changed and the test results. Shown under a request's timeline
 * when present; every value is JSX text, escaped, however the agent wrote it.
 */

/** Indented when whole; a cut text is no longer JSON, so it is shown as the script cut it. */
const readable = (text: string, truncated: boolean): string => {
  if (truncated) return `${text}…`;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

export const RequestFacts: FC<{ r: RequestView }> = ({ r }) => {
  if (!r.priority && !r.timestamp && r.files_changed.length === 0 && r.test_results === null) return null;
  return (
    <dl class="facts">
      {r.priority ? (
        <>
          <dt>Priority</dt>
          <dd>{r.priority}</dd>
        </>
      ) : null}
      {r.timestamp ? (
        <>
          <dt>Agent's time</dt>
          <dd class="mono" title="as the agent wrote it; accepted at the first timeline entry">
            {r.timestamp}
          </dd>
        </>
      ) : null}
      {r.files_changed.length > 0 ? (
        <>
          <dt>Files changed</dt>
          <dd>
            <ul class="files">
              {r.files_changed.map((f) => (
                <li class="mono">{f}</li>
              ))}
              {r.files_more > 0 ? <li class="muted">and {r.files_more} more</li> : null}
            </ul>
          </dd>
        </>
      ) : null}
      {r.test_results !== null ? (
        <>
          <dt>Test results</dt>
          <dd>
            <pre class="mono">{readable(r.test_results, r.test_results_truncated)}</pre>
            {r.test_results_truncated ? (
              <span class="muted">only the start is shown; the status API has them whole</span>
            ) : null}
          </dd>
        </>
      ) : null}
    </dl>
  );
};
