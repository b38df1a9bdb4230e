/**
 * The job index: every job id by creation time, in a sorted set per prefix
 * (`<p>:jobs`) and one per requester (`<p>:jobs-by:<uid>`), written by the
 * submit script with the record. Every member has score 0 and reads
 * `<created ms, 13 digits>:<id>`, so the lexicographic order is the creation
 * order with the id as tie-break: a page ends at an exact member, and the next
 * page starts right after it (`ZREVRANGEBYLEX`), whatever was added meanwhile.
 * That member is the page's cursor.
 */
import { PermanentError } from '../core/errors';
import type { JobRecord } from '../core/model/job';

const MEMBER = /^(\d{13}):([0-9a-f-]{36})$/;

const pad = (ms: number) => String(Math.max(0, Math.floor(ms))).padStart(13, '0');

/** The index member of a record. */
export const indexMember = (record: Pick<JobRecord, 'id' | 'createdAt'>): string => `${pad(Date.parse(record.createdAt))}:${record.id}`;

/** The lowest member created at or after `ms`: `[bound` includes it, `(bound` what sorts after it. */
export const timeBound = (ms: number): string => pad(ms);

export const idOfMember = (member: string): string => member.slice(14);

/** A cursor a client sent back, checked: 400 naming `cursor` if it is not one this store handed out. */
export function parseCursor(cursor: string): string {
  if (!MEMBER.test(cursor)) throw new PermanentError('BAD_REQUEST', 'cursor: must be the `next` of an earlier page', 'cursor');
  return cursor;
}
