/**
 * The `Idempotency-Key` header (docs/api.md#idempotency-key): a retried POST
 * returns the original job. A key is bound to what it was first used for —
 * the caller (keys are kept per principal), the method, the path and a hash
 * of the body — so reusing it for a different request is refused (422), never
 * silently answered with an unrelated job.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { PermanentError } from '../../core/errors';

/** The header, checked; undefined when absent. */
export function idempotencyKey(req: FastifyRequest): string | undefined {
  const v = req.headers['idempotency-key'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(v)) {
    throw new PermanentError('BAD_REQUEST', 'Idempotency-Key: 1-128 characters of A-Z a-z 0-9 _ . : -', 'Idempotency-Key');
  }
  return v;
}

/** JSON with object keys sorted, so two bodies that mean the same hash the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** What a key is bound to: method, path (query included) and body, hashed. No body, `null` and `{}` are the same request. */
export function requestFingerprint(req: FastifyRequest): string {
  const body = req.body === undefined || req.body === null ? {} : req.body;
  return createHash('sha256').update(`${req.method} ${req.url}\n${canonical(body)}`).digest('base64url').slice(0, 32);
}

/** A key's first use: refuses a reuse for another request (422). A key kept from before fingerprints (none) replays. */
export function assertSameRequest(prior: { fingerprint: string }, fingerprint: string, key: string): void {
  if (prior.fingerprint !== '' && prior.fingerprint !== fingerprint) {
    throw new PermanentError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was used for a different request; use a new key for a new request`, 'Idempotency-Key');
  }
}
