/**
 * Exit codes, one meaning each, for shell scripts (README.md#ceo):
 * 0 ok; 1 the job failed or rolled back (or anything else went wrong: the
 * server answered 5xx, could not be reached); 2 usage (a bad option, or a
 * 400: the request itself is wrong); 3 authentication (no ticket, 401, 403,
 * the server failed mutual authentication); 4 not found or conflict (404, 409).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, notFound: 4 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error shown as one line on stderr, then the process exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

/** The exit code of an API answer's HTTP status. */
export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415 || status === 406) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404 || status === 409) return EXIT.notFound;
  return EXIT.failed;
}

/** The API's error body: `{"error": {"code", "message", "field"?, "job_id"?}}`. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string; field?: string; job_id?: string };
}

/** One line for an API error answer: its message, and for a 409 held by a job, how to follow that job. */
export function apiErrorMessage(status: number, body: unknown): string {
  const e = (body as ApiErrorBody | undefined)?.error;
  const message = e?.message ?? (typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : `HTTP ${status}`);
  const code = e?.code ? ` (${e.code})` : '';
  const held = status === 409 && e?.job_id && !message.includes(e.job_id) ? `; held by job ${e.job_id}` : '';
  const follow = status === 409 && e?.job_id ? `; ceo jobs watch ${e.job_id}` : '';
  return `${message}${held}${code}${follow}`;
}
