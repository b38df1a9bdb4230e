/**
 * The database jobs' steps with fake adapters: the snapshot refuses a taken
 * name; the password is sealed before it is set and reaches the info file;
 * an undo drops only what this job made; deleting a member or a club drops
 * its databases, delete-if-present; and the info file says what members'
 * scripts parse.
 */
import { PermanentError } from '../../src/core/errors';
import type { MemberDatabase } from '../../src/core/ports';
import { createDatabaseJob } from '../../src/jobs/create-database';
import { type DatabasePayload, databaseInfoText, infoFileName } from '../../src/jobs/database-info';
import { deleteGroup } from '../../src/jobs/delete-group';
import { deleteMember } from '../../src/jobs/delete-member';
import { resetDatabasePassword } from '../../src/jobs/reset-database-password';
import { fakeStepContext } from '../fakes/step-context';

const payload: DatabasePayload = { uid: 'test_1', kind: 'mysql', account: 'member', uid_number: 20050, gid_number: 20050 };
const config = {
  mysql: { hostname: 'coffee.csclub.internal', port: 3306 },
  postgresql: { hostname: 'coffee.csclub.internal', port: 15432 },
  members: { home_root: '/users' },
  clubs: { home_root: '/clubs' },
};

/** A fake server: what exists, and every call in order. */
function fakeDb(existing: string[] = [], fail?: { create?: Error }) {
  const names = new Set(existing);
  const calls: string[] = [];
  const db = {
    kind: 'mysql',
    exists: async (n: string) => names.has(n),
    create: async (n: string, pw: string) => {
      calls.push(`create ${n} ${pw}`);
      names.add(n);
      if (fail?.create) throw fail.create;
    },
    setPassword: async (n: string, pw: string) => {
      calls.push(`setPassword ${n} ${pw}`);
      if (!names.has(n)) throw new PermanentError('DB_NO_SUCH_DATABASE', `no MySQL user ${n}`);
    },
    drop: async (n: string) => {
      calls.push(`drop ${n}`);
      return names.delete(n);
    },
  } as unknown as MemberDatabase;
  return { db, names, calls };
}

const step = (type: typeof createDatabaseJob, name: string) => type.steps.find((s) => s.name === name)!;

describe('create_database', () => {
  it('refuses a name that is taken, in the read-only first step', async () => {
    const { db, calls } = fakeDb(['test_1']);
    const ctx = fakeStepContext({ payload, adapters: { mysql: db }, config });
    await expect(step(createDatabaseJob, 'check_database').run(ctx)).rejects.toMatchObject({ code: 'DB_EXISTS', permanent: true });
    expect(calls).toEqual([]);
  });

  it('seals the password before it creates, and hands the endpoint on', async () => {
    const { db, calls } = fakeDb();
    const secrets: Record<string, string> = {};
    let sealedFirst = false;
    const create = db.create;
    db.create = async (n, pw) => {
      sealedFirst = secrets.password === pw;
      await create(n, pw);
    };
    const ctx = fakeStepContext({ payload, adapters: { mysql: db }, config, secrets, results: { check_database: { existed: false } } });
    const out = await step(createDatabaseJob, 'create_database').run(ctx);
    expect(sealedFirst).toBe(true);
    expect(out).toEqual({ result: { created: true, hostname: 'coffee.csclub.internal', port: 3306 } });
    expect(calls).toEqual([`create test_1 ${secrets.password}`]);
    expect(secrets.password).toMatch(/^[A-Za-z2-9]{16}$/);
  });

  it('undo drops what this job made, and never a database the snapshot saw before', async () => {
    const made = fakeDb(['test_1']);
    await step(createDatabaseJob, 'create_database').undo!(fakeStepContext({ payload, adapters: { mysql: made.db }, config, results: { check_database: { existed: false } } }));
    expect(made.calls).toEqual(['drop test_1']);
    // No snapshot result (the job failed before it), or a snapshot that saw it: nothing is dropped.
    for (const results of [{}, { check_database: { existed: true } }] as Record<string, { existed: boolean }>[]) {
      const before = fakeDb(['test_1']);
      await step(createDatabaseJob, 'create_database').undo!(fakeStepContext({ payload, adapters: { mysql: before.db }, config, results }));
      expect(before.calls).toEqual([]);
    }
  });

  it('a permanent refusal halfway takes back what it made (the step is not undone when refused on attempt 1)', async () => {
    const { db, calls, names } = fakeDb([], { create: new PermanentError('DB_REFUSED', 'no') });
    const ctx = fakeStepContext({ payload, adapters: { mysql: db }, config, secrets: {}, results: { check_database: { existed: false } } });
    await expect(step(createDatabaseJob, 'create_database').run(ctx)).rejects.toMatchObject({ code: 'DB_REFUSED' });
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['create', 'drop']);
    expect(names.has('test_1')).toBe(false);
  });

  it('writes the info file with the sealed password, into the home root of the account kind', async () => {
    const writes: unknown[][] = [];
    const homeDirs = { writePrivateFile: async (...args: unknown[]) => void writes.push(args) };
    const results = { create_database: { created: true, hostname: 'coffee.csclub.internal', port: 3306 } };
    for (const account of ['member', 'club'] as const) {
      const ctx = fakeStepContext({ payload: { ...payload, account }, adapters: { homeDirs }, config, results, secrets: { password: 'Abc23456Defg7890' } });
      await step(createDatabaseJob, 'write_database_info').run(ctx);
    }
    expect(writes.map((w) => w.slice(0, 5))).toEqual([
      ['/users', 'test_1', 20050, 20050, 'ceo-mysql-info'],
      ['/clubs', 'test_1', 20050, 20050, 'ceo-mysql-info'],
    ]);
    expect(writes[0]![5]).toContain('Password: Abc23456Defg7890\n');
  });

  it('an info step without a sealed password is an internal error, not the caller’s', async () => {
    const ctx = fakeStepContext({ payload, adapters: { homeDirs: {} }, config, results: { create_database: { hostname: 'h', port: 1 } }, secrets: {} });
    await expect(step(createDatabaseJob, 'write_database_info').run(ctx)).rejects.toMatchObject({ code: 'MISSING_STEP_RESULT' });
  });
});

describe('reset_database_password', () => {
  it('seals, then sets; a missing user is DB_NO_SUCH_DATABASE; nothing has an undo', async () => {
    const { db, calls } = fakeDb(['test_1']);
    const secrets: Record<string, string> = {};
    const out = await step(resetDatabasePassword, 'set_database_password').run(fakeStepContext({ payload, adapters: { mysql: db }, config, secrets }));
    expect(out).toEqual({ result: { hostname: 'coffee.csclub.internal', port: 3306 } });
    expect(calls).toEqual([`setPassword test_1 ${secrets.password}`]);
    const none = fakeDb();
    await expect(step(resetDatabasePassword, 'set_database_password').run(fakeStepContext({ payload, adapters: { mysql: none.db }, config, secrets }))).rejects.toMatchObject({
      code: 'DB_NO_SUCH_DATABASE',
    });
    expect(resetDatabasePassword.steps.filter((s) => s.undo)).toEqual([]);
  });
});

describe('delete_member', () => {
  it('drops both databases on the db host, delete-if-present, before the account goes', () => {
    const names = deleteMember.steps.map((s) => `${s.name}:${s.role}`);
    expect(names).toEqual(expect.arrayContaining(['drop_mysql_database:db', 'drop_postgresql_database:db']));
    expect(names.indexOf('drop_postgresql_database:db')).toBeLessThan(names.indexOf('delete_user:admin'));
  });
});

describe('delete_group', () => {
  it('drops the club account’s databases after the member check and before the club user goes; nothing is undone', () => {
    expect(deleteGroup.steps.map((s) => `${s.name}:${s.role}`)).toEqual([
      'remove_sudo_role:admin',
      'drop_mysql_database:db',
      'drop_postgresql_database:db',
      'remove_club_user:admin',
      'remove_group:admin',
      'delete_club_home:fs',
    ]);
    expect(deleteGroup.steps.filter((s) => s.undo)).toEqual([]);
  });

  it('drops the databases named after the club, delete-if-present: a second run finds nothing and says so', async () => {
    const mysql = fakeDb(['chess']);
    const postgresql = fakeDb([]);
    const ctx = fakeStepContext({ payload: { cn: 'chess' }, adapters: { mysql: mysql.db, postgresql: postgresql.db }, config });
    const dropStep = (name: string) => deleteGroup.steps.find((s) => s.name === name)!;
    const run = async () => [await dropStep('drop_mysql_database').run(ctx), await dropStep('drop_postgresql_database').run(ctx)];
    expect(await run()).toEqual([{ result: { mysql_dropped: true } }, { result: { postgresql_dropped: false } }]);
    expect(await run()).toEqual([{ result: { mysql_dropped: false } }, { result: { postgresql_dropped: false } }]);
    expect([mysql.calls, postgresql.calls]).toEqual([
      ['drop chess', 'drop chess'],
      ['drop chess', 'drop chess'],
    ]);
  });
});

describe('the info file', () => {
  it('is what members’ scripts parse: the password is the last word of the Password line', () => {
    const text = databaseInfoText('mysql', 'test_1', 'Abc23456Defg7890', { hostname: 'coffee.csclub.uwaterloo.ca', port: 3306 });
    expect(text).toBe(
      [
        'MySQL Database Information for test_1',
        '',
        'Database: test_1',
        'Username: test_1',
        'Password: Abc23456Defg7890',
        'Hostname: coffee.csclub.uwaterloo.ca',
        'Port: 3306',
        '',
        'Connect with: mysql test_1 -h coffee.csclub.uwaterloo.ca -u test_1 -p',
        '',
      ].join('\n'),
    );
    const line = text.split('\n').find((l) => l.startsWith('Password'))!;
    expect(line.split(/\s+/).pop()).toBe('Abc23456Defg7890');
  });

  it('PostgreSQL alike, naming a port that is not the default', () => {
    const text = databaseInfoText('postgresql', 'a-b', 'pw', { hostname: '127.0.0.1', port: 23432 });
    expect(text.split('\n')[0]).toBe('PostgreSQL Database Information for a-b');
    expect(text).toContain('Connect with: psql -h 127.0.0.1 -p 23432 -U a-b a-b\n');
    expect(databaseInfoText('mysql', 'a', 'pw', { hostname: 'h', port: 23306 })).toContain('mysql a -h h -P 23306 -u a -p');
    expect(infoFileName('postgresql')).toBe('ceo-postgresql-info');
  });

  it('refuses a password with white space (it would not be the last word)', () => {
    expect(() => databaseInfoText('mysql', 'a', 'two words', { hostname: 'h', port: 1 })).toThrow(/white space/);
  });
});
