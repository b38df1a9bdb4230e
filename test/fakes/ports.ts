/**
 * In-memory fakes of the ports the API uses, for route tests with
 * `app.inject()`: a job store, a queue that records what it dispatched, a
 * directory of a few users and groups, and an authenticator that takes the
 * token as the principal's name.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { isFinished, type JobEvent, type JobRecord, type StoredEvent } from '../../src/core/model/job';
import type { Authenticator, IdempotencyKey, JobEventFeed, JobListQuery, JobQueue, JobStore, Ldap, SessionRegistry, SubmitOutcome } from '../../src/core/ports';
import { indexMember, parseCursor } from '../../src/store/job-index';
import type { UserEntry } from '../../src/core/model/user';

/** The shipped example config, with secrets, as the API would load it. */
export function exampleConfig(): Config {
  const raw = parseConfig(readFileSync(join(__dirname, '../../etc/ceod.example.ini'), 'utf8'));
  const secrets = { ldapBindPassword: 'x', mailmanPassword: 'x', secretsKey: randomBytes(32) };
  return Object.defineProperty({ ...raw }, 'secrets', { value: secrets, enumerable: false }) as Config;
}

export class MemoryJobStore implements JobStore {
  readonly records = new Map<string, JobRecord>();
  readonly locks = new Map<string, string>();
  readonly idem = new Map<string, string>();
  readonly streams = new Map<string, StoredEvent[]>();
  private seq = 0;

  readonly fingerprints = new Map<string, string>();

  async submit(record: JobRecord, idem?: IdempotencyKey): Promise<SubmitOutcome> {
    const k = idem && `${record.requester}:${idem.key}`;
    if (k && this.idem.has(k)) return { kind: 'idempotent', existingId: this.idem.get(k)!, fingerprint: this.fingerprints.get(k)! };
    if (record.lockKey && this.locks.has(record.lockKey)) return { kind: 'conflict', existingId: this.locks.get(record.lockKey)! };
    if (record.lockKey) this.locks.set(record.lockKey, record.id);
    if (k) {
      this.idem.set(k, record.id);
      this.fingerprints.set(k, idem!.fingerprint);
    }
    this.records.set(record.id, structuredClone(record));
    this.append(record.id, [{ type: 'queued', data: {} }]);
    return { kind: 'created' };
  }
  async abandon(record: JobRecord): Promise<void> {
    this.records.delete(record.id);
    if (record.lockKey && this.locks.get(record.lockKey) === record.id) this.locks.delete(record.lockKey);
  }
  async idempotent(requester: string, key: string) {
    const k = `${requester}:${key}`;
    return this.idem.has(k) ? { jobId: this.idem.get(k)!, fingerprint: this.fingerprints.get(k)! } : null;
  }
  async get(id: string) {
    const r = this.records.get(id);
    return r ? structuredClone(r) : null;
  }
  async save(record: JobRecord, events: JobEvent[] = []) {
    const cur = this.records.get(record.id);
    if (!cur || cur.version !== record.version) return false;
    record.version += 1;
    this.records.set(record.id, structuredClone(record));
    this.append(record.id, events);
    if (isFinished(record) && record.lockKey) this.locks.delete(record.lockKey);
    return true;
  }
  private append(id: string, events: JobEvent[]) {
    const s = this.streams.get(id) ?? [];
    for (const e of events) s.push({ ...e, id: `${Date.now()}-${this.seq++}` });
    this.streams.set(id, s);
  }
  async events(id: string, afterId = '0') {
    const s = this.streams.get(id) ?? [];
    const i = afterId === '0' ? 0 : s.findIndex((e) => e.id === afterId) + 1;
    return s.slice(i);
  }
  async saveSecret() {}
  async secrets() {
    return {};
  }
  async idleActive() {
    return [];
  }
  async readable(id: string) {
    return this.records.has(id) ? ('yes' as const) : ('gone' as const);
  }
  async failUnreadable() {
    return null;
  }
  /** As the Redis store: newest first by (creation time, id), the cursor being the last member returned. */
  async list(q: JobListQuery) {
    const after = q.cursor === undefined ? undefined : parseCursor(q.cursor);
    const matching = [...this.records.values()]
      .map((r) => ({ r, m: indexMember(r) }))
      .filter(({ r, m }) => (!q.requester || r.requester === q.requester) && (!q.type || r.type === q.type) && (!q.state || r.state === q.state))
      .filter(({ r, m }) => (q.sinceMs === undefined || Date.parse(r.createdAt) >= q.sinceMs) && (after === undefined || m < after))
      .sort((a, b) => (a.m < b.m ? 1 : a.m > b.m ? -1 : 0));
    const page = matching.slice(0, q.limit);
    const next = matching.length > q.limit ? page[page.length - 1]!.m : undefined;
    return { records: page.map(({ r }) => structuredClone(r)), ...(next ? { next } : {}) };
  }
  async ping() {}
  async awaitReplicas() {}
}

export class RecordingQueue implements JobQueue {
  readonly dispatched: JobRecord[] = [];
  fail = false;
  async dispatch(record: JobRecord) {
    if (this.fail) throw new Error('queue down');
    this.dispatched.push(structuredClone(record));
  }
  async close() {}
}

export const noEvents: JobEventFeed = {
  waiter: () => ({ promise: Promise.resolve(), cancel: () => undefined }),
  watching: 0,
};

/** A People entry with defaults. */
export const person = (uid: string, extra: Partial<UserEntry> = {}): UserEntry => ({
  dn: `uid=${uid},ou=People`,
  uid,
  cn: `Person ${uid}`,
  uidNumber: 20001,
  gidNumber: 20001,
  homeDirectory: `/users/${uid}`,
  loginShell: '/bin/bash',
  terms: ['f2026'],
  nonMemberTerms: [],
  positions: [],
  mailLocalAddresses: [],
  objectClasses: ['member'],
  impliedMemberships: [],
  ...extra,
});

/** A directory of users (uid → entry) and group memberships (uid → groups); what the API reads of LDAP. */
export function fakeLdap(users: UserEntry[], groups: Record<string, string[]>): Ldap {
  const byUid = new Map(users.map((u) => [u.uid, u]));
  const impl: Partial<Ldap> = {
    getUser: async (uid) => byUid.get(uid) ?? null,
    getUsers: async (uids) => uids.flatMap((u) => (byUid.has(u) ? [byUid.get(u)!] : [])),
    listMembers: async (opts) => users.filter((u) => !opts?.term || u.terms.includes(opts.term) || u.nonMemberTerms.includes(opts.term)),
    groupsOf: async (uid) => groups[uid] ?? [],
    nameTaken: async (name) => byUid.has(name),
    ping: async () => undefined,
    close: async () => undefined,
  };
  return new Proxy(impl as Ldap, {
    get: (target, prop) => (prop in target ? target[prop as keyof Ldap] : () => Promise.reject(new Error(`fake Ldap: ${String(prop)} not faked`))),
  });
}

/** Takes the token as the principal's uid: `Negotiate alice1` is alice1. */
export const tokenIsUid =
  (realm: string): Authenticator =>
  async (token) => ({ principal: `${Buffer.from(token, 'base64').toString('utf8')}@${realm}` });

/** The Authorization header `tokenIsUid` accepts for `uid`. */
export const negotiateAs = (uid: string) => `Negotiate ${Buffer.from(uid).toString('base64')}`;

/** Session generations in memory; `revoked` lists every revoke call. */
export class MemorySessions implements SessionRegistry {
  readonly gens = new Map<string, number>();
  readonly revoked: string[][] = [];
  async generation(uid: string) {
    return this.gens.get(uid) ?? 0;
  }
  async revoke(uids: readonly string[]) {
    this.revoked.push([...uids]);
    for (const u of uids) this.gens.set(u, (this.gens.get(u) ?? 0) + 1);
  }
}
