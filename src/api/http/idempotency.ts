/** The `Idempotency-Key` header (docs/api.md#idempotency-key): a retried POST returns the original job. */
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
