/**
 * What agents and runners wrote (descriptions, file names, details, test results) reaches the
 * operator's terminal through these. A control character could move the cursor, recolour or
 * retitle the terminal, or forge a line of output; a bidirectional override could reorder what is
 * shown. Each is written as its escape (`\x1b`, `\u202e`) instead, so it is visible and harmless.
 */

// C0 except newline, DEL, C1; the bidirectional embeddings, overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE_OR_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
};

/** `text` safe to print; newlines kept only when the caller lays out multi-line values itself. */
export const printable = (text: string, opts: { newlines?: boolean } = {}): string =>
  text.replace(opts.newlines ? UNSAFE : UNSAFE_OR_NEWLINE, escaped);

/** At most `max` characters of `text`, with how much was left out. */
export const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
