/**
 * Field schemas shared by the API and the job payloads. Everything that ends up
 * in a DN, an LDAP filter, a path or a URL is held to a strict pattern here, so
 * hostile input is refused before it reaches an adapter (which escapes anyway).
 */
import { z } from 'zod';
import { TERM_RE } from '../rules/terms';
import { FORWARD_ADDRESS_RE, MAX_ADDRESS_LENGTH } from './addresses';
import { NAME_RE, NAME_RULE, RESERVED_NAMES } from './names';

/**
 * An existing account's or group's name (docs/directory.md#names), e.g. as a
 * path parameter: `syscom` may be read, though never created or deleted.
 */
export const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(32, 'must be at most 32 characters')
  .regex(NAME_RE, NAME_RULE.replace(/ \(at most 32 characters\)$/, ''));

/** A name for a new account or group: the name rule, and not a reserved name. */
export const uidSchema = nameSchema.refine((u) => !RESERVED_NAMES.has(u), 'is a reserved name');

/**
 * Control characters, invisible formatting, line and paragraph separators and
 * unpaired UTF-16 surrogates: none belongs in a name, a description or a path.
 * (A lone surrogate survives JSON.stringify as `\ud800`, which Redis's Lua
 * cjson cannot decode: a record holding one could never be updated again.)
 */
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/**
 * The one schema helper for free text from a request: a string of 1–`max`
 * characters, trimmed, without unsafe characters (`UNSAFE_CHARACTER`).
 */
export const safeText = (max: number, opts: { trim?: boolean } = {}) =>
  (opts.trim === false ? z.string({ error: 'must be a string' }) : z.string({ error: 'must be a string' }).trim())
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !UNSAFE_CHARACTER.test(s), 'must not contain control characters, invisible formatting or unpaired surrogates');

const text = (max: number) => safeText(max);

export const personNameSchema = text(128);
/** A club's full name, e.g. "Women in Computer Science". */
export const descriptionSchema = text(128);

/** An existing group's name, as a path parameter. */
export const groupNameSchema = nameSchema;
export const programSchema = text(64);

export const termSchema = z.string({ error: 'must be a string' }).regex(TERM_RE, 'must be a term like f2026 ([wsf]YYYY)');

export const termsSchema = z
  .array(termSchema, { error: 'must be a list of terms' })
  .min(1, 'must hold at least one term')
  .max(12, 'must hold at most 12 terms');

/** A forwarding address, by the one rule the file server also applies (core/model/addresses.ts). */
export const emailSchema = z
  .string({ error: 'must be a string' })
  .max(MAX_ADDRESS_LENGTH, `must be at most ${MAX_ADDRESS_LENGTH} characters`)
  .regex(FORWARD_ADDRESS_RE, 'must be a plain email address (local@domain, without | / \\ # ` { } % ! or quotes)');

/** An absolute path, e.g. a login shell: safe text that starts with `/`. */
export const absolutePathSchema = safeText(256, { trim: false }).refine((s) => s.startsWith('/'), 'must be an absolute path');

export const forwardingSchema = z.array(emailSchema, { error: 'must be a list of email addresses' }).max(16, 'must hold at most 16 addresses');

/** Exactly one of `terms` (a member) and `non_member_terms` (a club rep); the issue names the field. */
export function oneKindOfTerms(p: { terms?: unknown; non_member_terms?: unknown }, ctx: z.RefinementCtx): void {
  if (p.terms && p.non_member_terms) {
    ctx.addIssue({ code: 'custom', path: ['non_member_terms'], message: 'give either terms or non_member_terms, not both' });
  } else if (!p.terms && !p.non_member_terms) {
    ctx.addIssue({ code: 'custom', path: ['terms'], message: 'give terms (a member) or non_member_terms (a club rep)' });
  }
}

/**
 * A mailing list's short name (`csc-general`), as the Mailman adapter's
 * `checkListName` holds it: it ends up in a REST path, so no `/`, no `..`, no
 * upper case, and nothing the path could be rewritten with.
 */
export const listNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must start with a-z or 0-9 and hold only a-z, 0-9, ., _ and -')
  .refine((l) => !l.includes('..'), 'must not contain ..');

/** A position's name (`vice-president`): the value of a People entry's `position`. */
export const positionNameSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a position name (a-z, 0-9 and -, at most 32 characters)');
