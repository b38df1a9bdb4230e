/**
 * What a failure means, decided once at the edge where it happens.
 *
 * Adapters (LDAP, Kerberos, Mailman, mail, home dirs, MySQL, PostgreSQL) translate their server's
 * answers into a `PermanentError` (retrying cannot help: conflict, invalid data,
 * refused) or a `TransientError` (server down, timeout). Job code never parses
 * stderr or LDAP result codes. The runner decides by `name` and `code`, never by
 * `instanceof` alone: errors cross process boundaries through Redis and lose
 * their prototype on the way.
 */

/** Stable error codes, and the HTTP status each maps to when it reaches the API. */
export const ERROR_CODES = {
  // request problems
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** An Idempotency-Key reused for a different request. */
  IDEMPOTENCY_KEY_REUSED: 422,
  HEADERS_TOO_LARGE: 431,
  TOO_MANY_STREAMS: 429,
  // adapter outcomes (permanent)
  INVALID_PAYLOAD: 400,
  LDAP_ALREADY_EXISTS: 409,
  LDAP_CONSTRAINT_VIOLATION: 409,
  LDAP_INVALID_DATA: 400,
  LDAP_REFUSED: 502,
  KRB5_PRINCIPAL_EXISTS: 409,
  KRB5_NO_SUCH_PRINCIPAL: 404,
  KRB5_NO_PRIVILEGE: 502,
  KRB5_REFUSED: 502,
  HOME_EXISTS: 409,
  HOME_NOT_OURS: 409,
  HOME_UNSAFE_PATH: 400,
  HOME_MISSING: 404,
  FS_REFUSED: 502,
  MAILMAN_NO_SUCH_LIST: 404,
  MAILMAN_REFUSED: 502,
  MAIL_REFUSED: 502,
  /** A member database (or its user) of that name already exists. */
  DB_EXISTS: 409,
  /** No member database (or no user) of that name. */
  DB_NO_SUCH_DATABASE: 404,
  /** The database server refused: access denied, a bad identifier, dependent objects. */
  DB_REFUSED: 502,
  UID_RANGE_EXHAUSTED: 507,
  JOB_STALLED: 500,
  UNKNOWN_JOB_TYPE: 500,
  /** A step asked for the result of a step that has none: a bug in a job type, never the caller's fault. */
  MISSING_STEP_RESULT: 500,
  /** A job record in Redis that cannot be read (corrupt or not JSON): marked failed by the reconciler. */
  UNREADABLE_RECORD: 500,
  // transient
  LDAP_UNAVAILABLE: 503,
  KRB5_UNAVAILABLE: 503,
  MAILMAN_UNAVAILABLE: 503,
  MAIL_UNAVAILABLE: 503,
  /** A database server down, out of connections, or a deadlock / lock timeout. */
  DB_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
  /** A job written to the Redis master that not enough replicas confirmed in time (`[redis] wait_replicas`). */
  REDIS_NOT_REPLICATED: 503,
  FS_BUSY: 503,
  TIMEOUT: 504,
  LOCK_BUSY: 503,
  UNKNOWN: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What else an error may carry besides its code and message. */
export interface CeoErrorOptions {
  /** The error this one classifies or reclassifies: kept for logs, never shown to clients. */
  cause?: unknown;
  /** The server's own result code (an LDAP result code, an errno, an HTTP status), as data. */
  serverCode?: number | string;
  /** The job holding a resource, for a 409. */
  jobId?: string;
  /** Every invalid field of a bad request, the first being `field`'s. */
  fields?: readonly FieldIssue[];
}

/** One invalid field of a request and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Base of every classified error: a stable code and a message safe to show. */
export abstract class CeoError extends Error {
  abstract readonly permanent: boolean;
  readonly serverCode?: number | string;
  readonly jobId?: string;
  readonly fields?: readonly FieldIssue[];
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    opts: CeoErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.serverCode !== undefined) this.serverCode = opts.serverCode;
    if (opts.jobId !== undefined) this.jobId = opts.jobId;
    if (opts.fields !== undefined) this.fields = opts.fields;
  }
}

/** Retrying cannot help: the step fails at once and the job rolls back. */
export class PermanentError extends CeoError {
  override readonly name = 'PermanentError';
  readonly permanent = true;
}

/** Worth retrying with backoff: a server down, a timeout, a busy lock. */
export class TransientError extends CeoError {
  override readonly name = 'TransientError';
  readonly permanent = false;
}

/**
 * Whether `err` is a classified error. By `name`, not `instanceof` alone: an
 * error that crossed a process or module boundary may have lost its prototype.
 */
export function isCeoError(err: unknown): err is CeoError {
  const name = (err as { name?: unknown } | null | undefined)?.name;
  return name === 'PermanentError' || name === 'TransientError';
}

/** Whether `err` is a classified error with this code (or one of these codes). */
export function hasCode(err: unknown, ...codes: ErrorCode[]): err is CeoError {
  return isCeoError(err) && codes.includes(err.code);
}

/** The same condition under another code and message, keeping the original as `cause`. */
export function reclassify(err: CeoError, code: ErrorCode, message: string, opts: { field?: string; permanent?: boolean } = {}): CeoError {
  const permanent = opts.permanent ?? err.permanent;
  const Ctor = permanent ? PermanentError : TransientError;
  return new Ctor(code, message, opts.field ?? err.field, { cause: err, serverCode: err.serverCode });
}

/** The shape of an error after it has crossed a process boundary. */
export interface ErrorInfo {
  code: ErrorCode | string;
  message: string;
  permanent: boolean;
}

/**
 * Classifies anything thrown. Unknown errors are transient: a bug or an
 * unforeseen server answer gets retried a bounded number of times, then the
 * job rolls back, which is safer than calling it permanent on first sight.
 */
export function classify(err: unknown): ErrorInfo {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown; message?: unknown; permanent?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (isCeoError(err)) return { code: String(e.code), message, permanent: e.name === 'PermanentError' };
    if (e.name === 'UnrecoverableError') {
      return { code: 'UNKNOWN', message, permanent: true };
    }
    if (typeof e.code === 'string' && e.code in ERROR_CODES && typeof e.permanent === 'boolean') {
      return { code: e.code, message, permanent: e.permanent };
    }
    if (isRedisConnectionError(e.name, message)) {
      return { code: 'REDIS_UNAVAILABLE', message: `Redis is unavailable: ${message}`, permanent: false };
    }
    return { code: 'UNKNOWN', message, permanent: false };
  }
  return { code: 'UNKNOWN', message: String(err), permanent: false };
}

/**
 * ioredis's own errors when Redis is down or restarting: a fail-fast connection
 * (the API's producer, `maxRetriesPerRequest` small) rejects with these.
 */
function isRedisConnectionError(name: unknown, message: string): boolean {
  if (name === 'MaxRetriesPerRequestError') return true;
  if (/^(Connection is closed\.?|Stream isn't writeable and enableOfflineQueue options is false)$/.test(message)) return true;
  // Behind Sentinel, while no Sentinel answers (ioredis's connect error).
  if (/^All sentinels are unreachable/.test(message)) return true;
  // Server replies during a failover: a master with too few replicas
  // (`min-replicas-to-write`), a master turned replica, one still loading its
  // data. A reply error, possibly wrapped by a script's error (`…script: …`).
  return name === 'ReplyError' && /(^|\s)(NOREPLICAS|READONLY|LOADING|MASTERDOWN|UNBLOCKED|TRYAGAIN)\b/.test(message);
}

/** HTTP status for an error code; 500 for codes this table does not know. */
export function httpStatus(code: string): number {
  return (ERROR_CODES as Record<string, number>)[code] ?? 500;
}

/** Runs `work` with a deadline; a miss is a transient `TIMEOUT` naming `what`. */
export async function withTimeout<T>(what: string, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before aborting, so work that settles on abort cannot win the race.
      reject(new TransientError('TIMEOUT', `${what} timed out after ${ms} ms`));
      ctl.abort();
    }, ms);
  });
  try {
    return await Promise.race([work(ctl.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
