/** Request validation with zod: a bad request is a 400 naming the field and why, and nothing is enqueued. */
import { z } from 'zod';
import { PermanentError } from '../../core/errors';

/** Where a value came from, for the message when the issue has no field path. */
export type RequestPart = 'body' | 'params' | 'query';

/** Parses with a zod schema, or throws a 400 naming the first bad field. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, where: RequestPart): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  let field = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = issue.keys.join(', ');
    message = `unknown field(s): ${issue.keys.join(', ')}`;
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = 'is required';
  }
  throw new PermanentError('BAD_REQUEST', field ? `${field}: ${message}` : `${where}: ${message}`, field || where);
}

/** The body of a write that takes no arguments: none, `null` or `{}`. */
export const emptyBody = z.object({}, { error: 'must be a JSON object' }).strict().nullish();

/** A JSON object body without `uid` (the uid is the path's), to be merged with it. */
export const objectBody = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON object' })
  .refine((b) => !('uid' in b), { message: 'uid comes from the path', path: ['uid'] });

/** `true` / `false` in a query string. */
export const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');
