/** Positions: validation of the request, the diff the job writes, new executives, and the set_positions steps over a fake directory. */
import { listNameSchema } from '../../src/core/model/fields';
import { setPositions, setPositionsPayload, type SetPositionsPayload } from '../../src/jobs/set-positions';
import { subscribeList, unsubscribeList } from '../../src/jobs/list-membership';
import type { StepContext } from '../../src/jobs/step';
import type { StepResult } from '../../src/core/model/job';
import { PermanentError } from '../../src/core/errors';
import { fakeStepContext } from '../fakes/step-context';
import {
  byPosition,
  byUser,
  executives,
  holderProblem,
  newExecutives,
  parsePositions,
  positionChanges,
  positionsConfigOf,
  positionsView,
} from '../../src/core/rules/positions';
import type { UserChange, UserEntry } from '../../src/core/model/user';
import type { GroupMemberChange } from '../../src/core/model/group';

const CONFIG = {
  available: ['president', 'vice-president', 'treasurer', 'secretary', 'sysadmin', 'webmaster'],
  required: ['president', 'vice-president', 'sysadmin'],
  executive: ['president', 'vice-president', 'treasurer', 'secretary'],
};

/** The error `work` throws, for matching. */
function thrown(work: () => unknown): { code?: string; field?: string; message?: string } {
  try {
    work();
  } catch (e) {
    return e as never;
  }
  throw new Error('did not throw');
}

describe('parsePositions', () => {
  const ok = { president: 'alice1', 'vice-president': ['carol1', 'bob1'], sysadmin: 'dave1' };

  it('takes a uid or a list of uids, sorted; positions left out are absent (vacant)', () => {
    expect(parsePositions({ ...ok, treasurer: [] }, CONFIG)).toEqual({
      president: ['alice1'],
      'vice-president': ['bob1', 'carol1'],
      sysadmin: ['dave1'],
      treasurer: [],
    });
  });

  it.each([
    ['an unknown position', { ...ok, emperor: 'alice1' }, 'emperor', /not a position/],
    ['a missing required position', { president: 'alice1', sysadmin: 'dave1' }, 'vice-president', /required/],
    ['an empty required position', { ...ok, sysadmin: [] }, 'sysadmin', /required/],
    ['a bad uid as a string', { ...ok, president: 'Alice!' }, 'president', /lowercase/],
    ['a bad uid in a list', { ...ok, 'vice-president': ['bob1', '../x'] }, 'vice-president.1', /lowercase/],
    ['a reserved name', { ...ok, president: 'root' }, 'president', /reserved/],
    ['a duplicate', { ...ok, 'vice-president': ['bob1', 'bob1'] }, 'vice-president.1', /twice/],
    ['a number', { ...ok, president: 7 }, 'president', /uid or a list/],
    ['an object', { ...ok, president: { uid: 'alice1' } }, 'president', /uid or a list/],
    ['a non-string in a list', { ...ok, president: [null] }, 'president.0', /string/],
  ])('refuses %s: 400 naming the field', (_what, body, field, message) => {
    const e = thrown(() => parsePositions(body, CONFIG));
    expect(e).toMatchObject({ code: 'BAD_REQUEST', field });
    expect(e.message).toMatch(message);
  });

  it.each([null, [], 'president', 3])('refuses a body that is not an object: %j', (body) => {
    expect(thrown(() => parsePositions(body, CONFIG))).toMatchObject({ code: 'BAD_REQUEST', field: 'body' });
  });

  it('is a 404 when positions are not configured', () => {
    expect(thrown(() => positionsConfigOf({} as never))).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/not configured/) });
  });
});

describe('holders', () => {
  const member = (uid: string) => ({ uid, objectClasses: ['top', 'account', 'posixAccount', 'Member'] });
  it('must exist and have the member class', () => {
    const holders = { president: ['alice1'], sysadmin: ['club1', 'ghost1'] };
    expect(holderProblem(holders, [member('alice1'), member('club1'), member('ghost1')])).toBeNull();
    expect(holderProblem(holders, [member('alice1'), member('club1')])).toEqual({ position: 'sysadmin', uid: 'ghost1', message: 'no member ghost1' });
    expect(holderProblem(holders, [member('alice1'), { uid: 'club1', objectClasses: ['club'] }, member('ghost1')])).toMatchObject({ position: 'sysadmin', uid: 'club1' });
  });
});

describe('the diff', () => {
  it('inverts both ways', () => {
    const holders = { president: ['alice1'], sysadmin: ['alice1', 'bob1'] };
    expect(byUser(holders)).toEqual({ alice1: ['president', 'sysadmin'], bob1: ['sysadmin'] });
    expect(byPosition(byUser(holders))).toEqual(holders);
  });

  it('changes only users whose positions differ, removing them from users who hold none now', () => {
    const current = { alice1: ['president'], bob1: ['sysadmin', 'vice-president'], old1: ['webmaster'] };
    const wanted = { president: ['alice1'], 'vice-president': ['carol1'], sysadmin: ['bob1'] };
    expect(positionChanges(current, wanted)).toEqual({ bob1: ['sysadmin'], carol1: ['vice-president'], old1: [] });
    expect(positionChanges(byUser(wanted), wanted)).toEqual({});
  });

  it('executives are the holders of executive positions; new ones are those not in the exec group before', () => {
    const holders = { president: ['alice1'], 'vice-president': ['bob1', 'carol1'], sysadmin: ['dave1'], treasurer: ['alice1'] };
    expect(executives(holders, CONFIG.executive)).toEqual(['alice1', 'bob1', 'carol1']);
    expect(newExecutives(['alice1', 'bob1', 'carol1'], ['bob1', 'old1'])).toEqual(['alice1', 'carol1']);
  });

  it('the view shows every available position in config order, then any other the directory holds', () => {
    const view = positionsView(CONFIG.available, { president: ['alice1'], legacy: ['old1'] });
    expect(Object.keys(view)).toEqual([...CONFIG.available, 'legacy']);
    expect(view).toMatchObject({ president: ['alice1'], treasurer: [], legacy: ['old1'] });
  });
});

describe('list names', () => {
  it.each(['csc-general', 'syscom-alerts', 'a', 'a.b_c-1', '0x'])('accepts %j', (l) => expect(listNameSchema.safeParse(l).success).toBe(true));
  it.each(['', '..', '../x', 'a/b', 'a..b', '%2e%2e', '.x', '-x', 'UPPER', 'a b', 'x'.repeat(65)])('refuses %j', (l) => expect(listNameSchema.safeParse(l).success).toBe(false));
});

/** A directory of People entries and one exec group, and a Mailman of lists, all in memory. */
function fakeWorld(entries: Record<string, string[]>, exec: string[]) {
  const users = new Map<string, UserEntry>(
    Object.entries(entries).map(([uid, positions]) => [
      uid,
      { dn: `uid=${uid}`, uid, cn: uid, uidNumber: 1, gidNumber: 1, homeDirectory: '', loginShell: '', terms: [], nonMemberTerms: [], positions, mailLocalAddresses: [], impliedMemberships: [], objectClasses: ['member'] },
    ]),
  );
  const group = { cn: 'exec', dn: 'cn=exec', gidNumber: 1, members: [...exec] };
  const lists: Record<string, Set<string>> = { exec: new Set() };
  const writes: string[] = [];
  const ldap = {
    positionHolders: async () => [...users.values()].filter((u) => u.positions.length > 0).map((u) => ({ ...u })),
    getUsers: async (uids: string[]) => uids.filter((u) => users.has(u)).map((u) => ({ ...users.get(u)! })),
    getGroup: async (cn: string) => (cn === 'exec' ? { ...group, members: [...group.members] } : null),
    modifyUser: async (uid: string, changes: UserChange[]) => {
      const u = users.get(uid);
      if (!u) throw new PermanentError('NOT_FOUND', `modify uid=${uid}: no such object`);
      for (const c of changes) if (c.attr === 'position' && c.op === 'replace') u.positions = [...c.values];
      writes.push(uid);
    },
    changeGroupMembers: async (_cn: string, change: GroupMemberChange) => {
      if (change.op === 'replace') group.members = [...change.uids];
    },
  };
  const mailman = {
    subscribe: async (list: string, address: string) => {
      if (!lists[list]) throw new PermanentError('MAILMAN_NO_SUCH_LIST', 'no such list');
      lists[list].add(address);
    },
    unsubscribe: async (list: string, address: string) => {
      if (!lists[list]) throw new PermanentError('MAILMAN_NO_SUCH_LIST', 'no such list');
      return lists[list].delete(address);
    },
  };
  const positionsOf = () => Object.fromEntries([...users.values()].filter((u) => u.positions.length).map((u) => [u.uid, [...u.positions].sort()]));
  return { users, group, lists, writes, ldap, mailman, positionsOf };
}

function context<P>(world: ReturnType<typeof fakeWorld>, payload: P, results: Record<string, StepResult>, positions: object | null = { ...CONFIG, exec_group: 'exec', exec_list: 'exec' }): StepContext<P> {
  return fakeStepContext({
    payload,
    results,
    adapters: { ldap: world.ldap, mailman: world.mailman },
    config: { positions: positions ?? undefined, ceod: { base_domain: 'csclub.internal' } },
  });
}

/** Runs the job's steps in order, as the runner would, collecting results. */
async function runAll(world: ReturnType<typeof fakeWorld>, payload: SetPositionsPayload, upTo = setPositions.steps.length) {
  const results: Record<string, StepResult> = {};
  for (const step of setPositions.steps.slice(0, upTo)) {
    const outcome = await step.run(context(world, payload, results));
    if (outcome?.result) results[step.name] = outcome.result;
  }
  return results;
}

describe('set_positions steps', () => {
  const payload = setPositionsPayload.parse({ positions: { president: ['alice1'], 'vice-president': ['bob1'], sysadmin: ['dave1'], treasurer: ['alice1'] } });

  it('makes the directory and the exec group exactly the new map, and subscribes only new executives', async () => {
    const world = fakeWorld({ alice1: [], bob1: ['president'], dave1: [], old1: ['sysadmin', 'webmaster'] }, ['bob1', 'old1']);
    const results = await runAll(world, payload);
    expect(world.positionsOf()).toEqual({ alice1: ['president', 'treasurer'], bob1: ['vice-president'], dave1: ['sysadmin'] });
    expect(world.group.members).toEqual(['alice1', 'bob1']);
    expect([...world.lists.exec!]).toEqual(['alice1@csclub.internal']);
    expect(results.read_positions).toEqual({ holders_before: { president: ['bob1'], sysadmin: ['old1'], webmaster: ['old1'] }, exec_group_before: ['bob1', 'old1'] });
    expect(results.subscribe_new_execs).toEqual({ subscribed_to_exec_list: ['alice1'] });

    // Running it again (a retry) changes nothing.
    world.writes.length = 0;
    await runAll(world, payload);
    expect(world.writes).toEqual([]);
  });

  it('undo puts back the positions and the exec group of the snapshot', async () => {
    const world = fakeWorld({ alice1: [], bob1: ['president'], dave1: [], old1: ['sysadmin'] }, ['bob1', 'old1']);
    const before = world.positionsOf();
    const results = await runAll(world, payload, 3);
    expect(world.positionsOf()).not.toEqual(before);
    for (const name of ['sync_exec_group', 'write_positions']) await setPositions.steps.find((s) => s.name === name)!.undo!(context(world, payload, results));
    expect(world.positionsOf()).toEqual(before);
    expect(world.group.members).toEqual(['bob1', 'old1']);
  });

  it('refuses, before writing anything, a holder who is gone, a missing exec group, a list that is gone, or no positions config', async () => {
    const world = fakeWorld({ alice1: [], bob1: [] }, []);
    await expect(runAll(world, payload)).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'sysadmin', message: 'sysadmin: no member dave1' });
    expect(world.writes).toEqual([]);

    const read = setPositions.steps[0]!;
    await expect(read.run(context(world, payload, {}, { ...CONFIG, exec_group: 'nogroup', exec_list: 'exec' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(read.run(context(world, payload, {}, null))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(read.run(context(world, payload, {}, { ...CONFIG, available: ['president'], exec_group: 'exec', exec_list: 'exec' }))).rejects.toMatchObject({ code: 'BAD_REQUEST' });

    const full = fakeWorld({ alice1: [], bob1: [], dave1: [] }, []);
    const results = await runAll(full, payload, 3);
    const subscribe = setPositions.steps[3]!;
    await expect(subscribe.run(context(full, payload, results, { ...CONFIG, exec_group: 'exec', exec_list: 'gone' }))).rejects.toMatchObject({
      code: 'MAILMAN_NO_SUCH_LIST',
      message: 'no mailing list gone (positions.exec_list)',
    });
  });
});

describe('list membership steps', () => {
  it('subscribe and unsubscribe are ensures; a missing list is named plainly', async () => {
    const world = fakeWorld({}, []);
    const p = { list: 'exec', uid: 'alice1', self_service: false };
    const sub = subscribeList.steps[0]!;
    const unsub = unsubscribeList.steps[0]!;
    await sub.run(context(world, p, {}));
    await sub.run(context(world, p, {}));
    expect([...world.lists.exec!]).toEqual(['alice1@csclub.internal']);
    expect(await unsub.run(context(world, p, {}))).toMatchObject({ result: { was_subscribed: true } });
    expect(await unsub.run(context(world, p, {}))).toMatchObject({ result: { was_subscribed: false } });
    await expect(sub.run(context(world, { list: 'gone', uid: 'alice1', self_service: false }, {}))).rejects.toMatchObject({ code: 'MAILMAN_NO_SUCH_LIST', message: 'no mailing list gone' });
    expect(subscribeList.lockKey!(p)).toBe('list:exec:alice1');
    expect(unsubscribeList.lockKey!(p)).toBe(subscribeList.lockKey!(p));
  });

  it('a self-service subscription is checked again in the step: a list that became moderated or hidden is refused', async () => {
    const world = fakeWorld({}, []);
    const policies: Record<string, { subscriptionPolicy: string; advertised: boolean }> = {
      exec: { subscriptionPolicy: 'moderate', advertised: false },
    };
    const mailman = { ...world.mailman, listPolicy: async (l: string) => policies[l] ?? null };
    const ctx = (payload: { list: string; uid: string; self_service: boolean }, selfServiceLists: string[] = []) =>
      fakeStepContext({ payload, adapters: { mailman }, config: { ceod: { base_domain: 'csclub.internal' }, mailman: { self_service_lists: selfServiceLists } } });
    const sub = subscribeList.steps[0]!;
    await expect(sub.run(ctx({ list: 'exec', uid: 'alice1', self_service: true }))).rejects.toMatchObject({ code: 'FORBIDDEN', field: 'list' });
    expect([...world.lists.exec!]).toEqual([]);
    // Named in [mailman] self_service_lists: allowed whatever its policy; staff's requests are not checked.
    await sub.run(ctx({ list: 'exec', uid: 'alice1', self_service: true }, ['exec']));
    await sub.run(ctx({ list: 'exec', uid: 'bob1', self_service: false }));
    expect([...world.lists.exec!].sort()).toEqual(['alice1@csclub.internal', 'bob1@csclub.internal']);
    policies.exec = { subscriptionPolicy: 'confirm', advertised: true };
    await sub.run(ctx({ list: 'exec', uid: 'carol1', self_service: true }));
    expect(world.lists.exec!.has('carol1@csclub.internal')).toBe(true);
  });
});
