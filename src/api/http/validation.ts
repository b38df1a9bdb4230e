/** Request validation with zod: a bad request is a 400 naming the field and why, and nothing is enqueued. */
import { z } from 'zod';
import { type FieldIssue, PermanentError } from '../../core/errors';

/** Where a value came from, for the message when the issue has no field path. */
export type RequestPart = 'body' | 'params' | 'query';

/** Each issue zod found, as the fields it names (an unknown-keys issue names each key). */
function fieldIssues(issues: readonly z.core.$ZodIssue[], where: RequestPart): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: [...issue.path.map(String), key].join('.'), message: 'unknown field' });
      continue;
    }
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    out.push({ field: issue.path.map(String).join('.') || where, message });
  }
  // One entry per field: the first thing wrong with it.
  return out.filter((f, i) => out.findIndex((g) => g.field === f.field) === i);
}

/**
 * Parses with a zod schema, or throws a 400 naming every bad field at once:
 * `fields` lists them all (`[{field, message}]`), `field` is the first, and
 * the message reads `<field>: <what is wrong>` for each, `; `-separated.
 */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, where: RequestPart): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields = fieldIssues(r.error.issues, where);
  const message = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  throw new PermanentError('BAD_REQUEST', message, fields[0]!.field, { fields });
}

/** The body of a write that takes no arguments: none, `null` or `{}`. */
export const emptyBody = z.object({}, { error: 'must be a JSON object' }).strict().nullish();

/** A JSON object body without `uid` (the uid is the path's), to be merged with it. */
export const objectBody = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON object' })
  .refine((b) => !('uid' in b), { message: 'uid comes from the path', path: ['uid'] });

/** `true` / `false` in a query string. */
export const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');
