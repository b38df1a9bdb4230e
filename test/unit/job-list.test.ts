/**
 * `GET /api/jobs` with `app.inject()` and the in-memory job store: a member
 * sees only their own jobs, staff everyone's (and may filter by requester),
 * newest first, filtered by type, state and time, in pages that follow `next`
 * without a job twice; the summary names what a job works on, never private
 * payload fields; a bad query is a 400 naming the field.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { jobSubject } from '../../src/api/routes/jobs';
import { createLogger } from '../../src/core/log';
import type { JobRecord, JobState } from '../../src/core/model/job';
import { exampleConfig, MemorySessions, fakeLdap, MemoryJobStore, negotiateAs, noEvents, person, RecordingQueue, tokenIsUid } from '../fakes/ports';

const config = exampleConfig();
const log = createLogger({ level: 'silent', host: 'test', process: 'test' });

let store: MemoryJobStore;
let app: FastifyInstance;
let seq = 0;

/** A job record as the API would submit it, created `minutesAgo` before now. */
async function job(requester: string, type: string, payload: unknown, minutesAgo: number, state: JobState = 'completed'): Promise<JobRecord> {
  const createdAt = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const id = `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;
  const record: JobRecord = { id, version: 0, type, state, requester, createdAt, payload, steps: [], phase: 'do', cursor: 0, warnings: [], undoErrors: [], undone: [] };
  if (state !== 'queued' && state !== 'running') record.finishedAt = createdAt;
  await store.submit(record);
  return record;
}

const get = (url: string, as: string) => app.inject({ method: 'GET', url, headers: { authorization: negotiateAs(as) } });

beforeEach(async () => {
  store = new MemoryJobStore();
  const ldap = fakeLdap([person('ctdalek'), person('office1'), person('regular1'), person('alice1')], { ctdalek: ['syscom'], office1: ['office'] });
  app = await buildApp({ config, store, queue: new RecordingQueue(), events: noEvents, sessions: new MemorySessions(), ldap, log, authenticate: tokenIsUid(config.kerberos.realm) });
});
afterEach(() => app.close());

describe('GET /api/jobs', () => {
  it("a member sees only their own jobs, newest first, as summaries without private fields", async () => {
    const older = await job('regular1', 'modify_member', { uid: 'regular1', forwarding_addresses: ['secret@example.org'] }, 30);
    const newer = await job('regular1', 'subscribe_list', { uid: 'regular1', list: 'csc-general' }, 10, 'running');
    await job('office1', 'reset_password', { uid: 'alice1' }, 5);
    const res = await get('/api/jobs', 'regular1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      jobs: [
        { id: newer.id, type: 'subscribe_list', state: 'running', requester: 'regular1', created_at: newer.createdAt, subject: 'regular1 on csc-general' },
        { id: older.id, type: 'modify_member', state: 'completed', requester: 'regular1', created_at: older.createdAt, finished_at: older.finishedAt, subject: 'regular1' },
      ],
    });
    expect(res.body).not.toContain('secret@example.org');
  });

  it('a member may name themself as requester, never someone else (403)', async () => {
    await job('regular1', 'modify_member', { uid: 'regular1' }, 1);
    expect((await get('/api/jobs?requester=regular1', 'regular1')).json().jobs).toHaveLength(1);
    const res = await get('/api/jobs?requester=office1', 'regular1');
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'FORBIDDEN', message: 'regular1 may not list the jobs of office1' });
  });

  it("staff see everyone's jobs and filter by requester, type, state and time", async () => {
    await job('regular1', 'modify_member', { uid: 'regular1' }, 50);
    const pw = await job('office1', 'reset_password', { uid: 'alice1' }, 40, 'rolled_back');
    const club = await job('ctdalek', 'create_group', { cn: 'chess', description: 'Chess Club' }, 20);
    const add = await job('ctdalek', 'add_group_member', { cn: 'chess', uid: 'alice1', lists: true }, 10, 'queued');
    const ids = async (q: string, as = 'office1') => (await get(`/api/jobs${q}`, as)).json().jobs.map((j: { id: string }) => j.id);
    expect(await ids('')).toHaveLength(4);
    expect(await ids('', 'ctdalek')).toHaveLength(4);
    expect(await ids('?requester=ctdalek')).toEqual([add.id, club.id]);
    expect(await ids('?type=reset_password')).toEqual([pw.id]);
    expect(await ids('?state=rolled_back')).toEqual([pw.id]);
    expect(await ids(`?since=${encodeURIComponent(new Date(Date.now() - 25 * 60_000).toISOString())}`)).toEqual([add.id, club.id]);
    expect((await get('/api/jobs?requester=ctdalek', 'office1')).json().jobs.map((j: { subject: string }) => j.subject)).toEqual(['alice1 in chess', 'chess']);
  });

  it('pages follow `next` to the end, each job once, newest first', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.unshift((await job('office1', 'reset_password', { uid: 'alice1' }, 100 - i)).id);
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const body = (await get(`/api/jobs?limit=3${next ? `&cursor=${encodeURIComponent(next)}` : ''}`, 'office1')).json();
      seen.push(...body.jobs.map((j: { id: string }) => j.id));
      next = body.next;
      pages++;
    } while (next);
    expect(pages).toBe(3);
    expect(seen).toEqual(made);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['state=done', 'state'],
    ['type=make_coffee', 'type'],
    ['since=yesterday', 'since'],
    ['cursor=nope', 'cursor'],
    ['requester=Bad!', 'requester'],
    ['colour=red', 'colour'],
  ])('a bad query (%s) is a 400 naming %s', async (q, field) => {
    const res = await get(`/api/jobs?${q}`, 'office1');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe(field);
  });
});

describe('jobSubject', () => {
  it('names what the job works on, and nothing else of the payload', () => {
    expect(jobSubject('create_member', { uid: 'alice1', cn: 'Alice', forwarding_addresses: ['a@example.org'] })).toBe('alice1');
    expect(jobSubject('expire_members', { uids: ['a', 'b'], threshold: 'f2026' })).toBe('2 members');
    expect(jobSubject('set_positions', { positions: { president: ['alice1'] } })).toBe('positions');
    expect(jobSubject('delete_group', { cn: 'chess' })).toBe('chess');
    expect(jobSubject('x', null)).toBe('');
  });
});
