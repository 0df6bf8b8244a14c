import type { ContentfulStatusCode } from "hono/utils/http-status";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemInit {
  detail: string;
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2), e.g. `errors` for validation. */
  extra?: Record<string, unknown>;
}

/**
 * The one error class of the HTTP edge: it knows its own response. Thrown anywhere in a handler,
 * rendered by the app's single error handler as `application/problem+json` (RFC 9457).
 */
export class HttpProblem extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly title: string;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;

  constructor(status: ContentfulStatusCode, code: string, title: string, init: ProblemInit) {
    super(init.detail);
    this.name = "HttpProblem";
    this.status = status;
    this.code = code;
    this.title = title;
    this.headers = init.headers ?? {};
    this.extra = init.extra ?? {};
  }

  get detail(): string {
    return this.message;
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: problemType(this.code),
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...this.extra,
    };
  }
}

export const problemType = (code: string): string => `urn:hypercode:problem:${code}`;
