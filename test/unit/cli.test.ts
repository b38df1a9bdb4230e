/**
 * The pure parts of the `ceo` client: an event as its plain line, the job's
 * outcome lines, config resolution (CEOD_URL, the user's file, the system
 * file), the session cookie's attributes, exit codes and error lines, and the
 * small parsers of arguments.
 */
import { resolveConfig, type ConfigSources } from '../../src/cli/config';
import { apiErrorMessage, exitCodeOfStatus } from '../../src/cli/errors';
import { eventIdAfter } from '../../src/cli/job-events';
import { eventLine, formatDuration, resultLines, StepClock, type JobView } from '../../src/cli/progress/lines';
import { mayCarry, parseSetCookie, cacheDir } from '../../src/cli/session-store';
import { parseAssignments } from '../../src/cli/commands/positions';
import { sinceOf } from '../../src/cli/commands/jobs';
import { list, splitName } from '../../src/cli/commands/members';
import { parse } from 'ini';

const ev = (type: string, data: Record<string, unknown>, id = '1-0') => ({ id, type, data });
const at = (ms: number) => new Date(Date.UTC(2026, 8, 8, 14, 0, 0, ms)).toISOString();

describe('event lines', () => {
  it('one plain line per event, with the step, where it runs, and how long it took', () => {
    const clock = new StepClock();
    const lines = [
      ev('queued', { at: at(0), type: 'create_member', requester: 'office1' }),
      ev('step_started', { step: 'add_ldap_user', index: 0, role: 'admin', host: 'phosphoric-acid.csclub.internal', attempt: 1, at: at(5) }),
      ev('step_completed', { step: 'add_ldap_user', index: 0, role: 'admin', host: 'phosphoric-acid.csclub.internal', attempt: 1, at: at(17) }),
      ev('step_started', { step: 'add_principal', index: 2, role: 'admin', host: 'phosphoric-acid.csclub.internal', attempt: 2, at: at(20) }),
      ev('step_retrying', { step: 'add_principal', index: 2, role: 'admin', host: 'phosphoric-acid.csclub.internal', attempt: 2, at: at(30), error: { code: 'KRB5_UNAVAILABLE', message: 'kadmind down' } }),
      ev('step_failed', { step: 'create_home', index: 3, role: 'fs', host: 'phosphoric-acid.csclub.internal', attempt: 1, at: at(40), error: { code: 'HOME_EXISTS', message: '/users/a exists' } }),
      ev('warning', { step: 'send_welcome_mail', message: 'mail refused', at: at(41) }),
      ev('step_undone', { step: 'add_ldap_user', index: 0, role: 'admin', host: 'phosphoric-acid.csclub.internal', at: at(50) }),
      ev('step_undo_failed', { step: 'add_principal', index: 2, host: 'phosphoric-acid.csclub.internal', at: at(51), error: { code: 'KRB5_REFUSED', message: 'no' } }),
      ev('rolled_back', { at: at(60), error: { code: 'HOME_EXISTS', message: '/users/a exists', step: 'create_home' }, undone: ['add_ldap_user'], undo_errors: [] }),
      ev('failed', { at: at(60), error: { code: 'X', message: 'y' }, undone: [], undo_errors: [{ step: 'add_principal', code: 'KRB5_REFUSED', message: 'no' }] }),
      ev('completed', { at: at(60), warnings: ['mail refused'] }),
    ].map((e) => eventLine(e, clock));
    expect(lines).toEqual([
      'queued create_member (requested by office1)',
      'step_started add_ldap_user (admin@phosphoric-acid)',
      'step_completed add_ldap_user 12 ms',
      'step_started add_principal (admin@phosphoric-acid) attempt 2',
      'step_retrying add_principal (admin@phosphoric-acid) attempt 2 failed: KRB5_UNAVAILABLE kadmind down; retrying',
      'step_failed create_home (fs@phosphoric-acid): HOME_EXISTS /users/a exists',
      'warning send_welcome_mail: mail refused',
      'step_undone add_ldap_user (admin@phosphoric-acid)',
      'step_undo_failed add_principal (undo@phosphoric-acid): KRB5_REFUSED no',
      'rolled_back: HOME_EXISTS /users/a exists in create_home; undone: add_ldap_user',
      'failed: X y; undo failed: add_principal (KRB5_REFUSED no)',
      'completed with 1 warning',
    ]);
  });

  it('a completion whose start was not seen has no duration; durations read as people read them', () => {
    expect(eventLine(ev('step_completed', { step: 's', index: 4, at: at(1) }), new StepClock())).toBe('step_completed s');
    expect([formatDuration(12.4), formatDuration(1234), formatDuration(12_345), formatDuration(125_000)]).toEqual(['12 ms', '1.23 s', '12.3 s', '2 min 5 s']);
  });

  it('the outcome: state and time, the password once, scalar results; nothing of an undone job', () => {
    const job: JobView = {
      id: 'j1',
      type: 'create_member',
      state: 'completed',
      requester: 'office1',
      created_at: at(0),
      finished_at: at(400),
      steps: [],
      payload: { uid: 'alice1' },
      warnings: ['mail refused'],
      result: { uidNumber: 20001, password: 'S3cret-S3cret', snapshot: { big: true }, groups: [], note: '' },
    };
    expect(resultLines(job)).toEqual([
      'job j1 completed in 400 ms',
      'warning: mail refused',
      'initial password for alice1: S3cret-S3cret  (to be changed at the first login)',
      'uidNumber: 20001',
    ]);
    expect(resultLines({ ...job, state: 'rolled_back', warnings: [], error: { code: 'HOME_EXISTS', message: 'x', step: 'create_home' } })).toEqual([
      'job j1 rolled_back in 400 ms',
      'error: HOME_EXISTS x (step create_home)',
    ]);
  });

  it('a database job: the password once, named for its server and the info file, not as an initial password', () => {
    const job: JobView = {
      id: 'j2',
      type: 'create_database',
      state: 'completed',
      requester: 'alice1',
      created_at: at(0),
      finished_at: at(120),
      steps: [],
      payload: { uid: 'alice1', kind: 'postgresql', account: 'member', uid_number: 20001, gid_number: 20001 },
      result: { created: true, hostname: 'coffee.csclub.internal', port: 5432, password: 'Pg-S3cret-S3cret' },
    };
    const out = resultLines(job);
    expect(out).toEqual([
      'job j2 completed in 120 ms',
      'PostgreSQL password for alice1: Pg-S3cret-S3cret  (also in ~alice1/ceo-postgresql-info)',
      'created: true',
      'hostname: coffee.csclub.internal',
      'port: 5432',
    ]);
    const reset = resultLines({ ...job, type: 'reset_database_password', payload: { ...(job.payload as object), kind: 'mysql' } });
    expect(reset.filter((l) => l.includes('Pg-S3cret-S3cret'))).toEqual(['MySQL password for alice1: Pg-S3cret-S3cret  (also in ~alice1/ceo-mysql-info)']);
    expect(resultLines({ ...job, state: 'rolled_back' }).join('\n')).not.toContain('Pg-S3cret-S3cret');
  });

  it('event ids order as the Redis Stream does', () => {
    expect(eventIdAfter('1700000000001-0', '1700000000000-5')).toBe(true);
    expect(eventIdAfter('1700000000000-10', '1700000000000-9')).toBe(true);
    expect(eventIdAfter('1700000000000-1', '1700000000000-1')).toBe(false);
    expect(eventIdAfter('1-0', undefined)).toBe(true);
  });
});

describe('config', () => {
  const sources = (env: NodeJS.ProcessEnv, files: Record<string, string>): ConfigSources => ({ env, home: '/home/u', readFile: (p) => files[p], parseIni: (t) => parse(t) });

  it('CEOD_URL wins; else the user file; else /etc/csc/ceo.ini; ca_file from the first file that has it, relative to it', () => {
    const files = {
      '/home/u/.config/ceo/ceo.ini': '[ceod]\nurl = https://user.example:9987/\n',
      '/etc/csc/ceo.ini': '[ceod]\nurl = https://system.example:9987\nca_file = ca.pem\n',
    };
    expect(resolveConfig(sources({ CEOD_URL: 'http://localhost:8080' }, files))).toEqual({ url: 'http://localhost:8080', caFile: '/etc/csc/ca.pem', urlFrom: 'CEOD_URL' });
    expect(resolveConfig(sources({}, files))).toEqual({ url: 'https://user.example:9987', caFile: '/etc/csc/ca.pem', urlFrom: '/home/u/.config/ceo/ceo.ini [ceod] url' });
    expect(resolveConfig(sources({ XDG_CONFIG_HOME: '/xdg' }, files)).url).toBe('https://system.example:9987');
    expect(resolveConfig(sources({ XDG_CONFIG_HOME: '/xdg' }, { '/xdg/ceo/ceo.ini': '[ceod]\nurl=http://x\nca_file=/abs/ca.pem' }))).toMatchObject({ url: 'http://x', caFile: '/abs/ca.pem' });
  });

  it('no URL, or not an http(s) base URL: a usage error (exit 2) naming where it came from', () => {
    expect(() => resolveConfig(sources({}, {}))).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/no ceod URL: set CEOD_URL, or \[ceod\] url in \/home\/u\/\.config\/ceo\/ceo\.ini or \/etc\/csc\/ceo\.ini/) }));
    expect(() => resolveConfig(sources({ CEOD_URL: 'ftp://x' }, {}))).toThrow(/CEOD_URL: must be an http/);
    expect(() => resolveConfig(sources({ CEOD_URL: 'http://u:p@x/' }, {}))).toThrow(/plain base URL/);
    expect(() => resolveConfig(sources({}, { '/etc/csc/ceo.ini': '[ceod]\nurl = not a url' }))).toThrow(/\/etc\/csc\/ceo\.ini \[ceod\] url: not a URL/);
  });

  it('the cache directory honours XDG_CACHE_HOME', () => {
    expect(cacheDir({}, '/home/u')).toBe('/home/u/.cache/ceo');
    expect(cacheDir({ XDG_CACHE_HOME: '/c' }, '/home/u')).toBe('/c/ceo');
    expect(cacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/u')).toBe('/home/u/.cache/ceo');
  });
});

describe('the session cookie', () => {
  const now = 1_800_000_000_000;
  it('is read from Set-Cookie with its lifetime and Secure flag; an emptied one is a removal', () => {
    expect(parseSetCookie(['other=1', 'ceod_session=v1.abc.def; Path=/api; Max-Age=600; HttpOnly; SameSite=Strict; Secure'], now)).toEqual({ value: 'v1.abc.def', expires: now + 600_000, secure: true });
    expect(parseSetCookie(['ceod_session=; Path=/api; Max-Age=0'], now)).toBe('cleared');
    expect(parseSetCookie(['x=y'], now)).toBeUndefined();
  });

  it('a Secure cookie goes only over https or to a loopback host, as browsers do', () => {
    expect(mayCarry({ secure: true }, 'http://localhost:9987')).toBe(true);
    expect(mayCarry({ secure: true }, 'http://127.0.0.1:9987')).toBe(true);
    expect(mayCarry({ secure: true }, 'https://ceod.csclub.internal')).toBe(true);
    expect(mayCarry({ secure: true }, 'http://ceod.csclub.internal')).toBe(false);
    expect(mayCarry({ secure: false }, 'http://ceod.csclub.internal')).toBe(true);
  });
});

describe('exit codes and error lines', () => {
  it('maps statuses to exit codes', () => {
    expect([400, 401, 403, 404, 409, 413, 500, 503].map(exitCodeOfStatus)).toEqual([2, 3, 3, 4, 4, 2, 1, 1]);
  });

  it("shows the API's message and code, and for a 409 the job holding the resource", () => {
    expect(apiErrorMessage(400, { error: { code: 'BAD_REQUEST', message: 'terms.0: must be a term', field: 'terms.0' } })).toBe('terms.0: must be a term (BAD_REQUEST)');
    expect(apiErrorMessage(409, { error: { code: 'CONFLICT', message: 'a job for alice1 is already queued or running: J', job_id: 'J' } })).toBe('a job for alice1 is already queued or running: J (CONFLICT); ceo jobs watch J');
    expect(apiErrorMessage(409, { error: { code: 'CONFLICT', message: 'busy', job_id: 'J' } })).toBe('busy; held by job J (CONFLICT); ceo jobs watch J');
    expect(apiErrorMessage(502, '<html>Bad gateway</html>')).toBe('<html>Bad gateway</html>');
    expect(apiErrorMessage(500, undefined)).toBe('HTTP 500');
  });
});

describe('arguments', () => {
  it('positions, names, lists and ages', () => {
    expect(parseAssignments(['president=alice1', 'vice-president=bob1,carol1', 'treasurer='])).toEqual({ president: 'alice1', 'vice-president': ['bob1', 'carol1'], treasurer: [] });
    expect(() => parseAssignments(['president'])).toThrow(/not position=uid/);
    expect(() => parseAssignments(['a=x', 'a=y'])).toThrow(/given twice/);
    expect(splitName('Alice B. Smith')).toEqual({ given_name: 'Alice B.', sn: 'Smith' });
    expect(splitName('Cher')).toEqual({ given_name: 'Cher', sn: 'Cher' });
    expect(list('w2027', list('f2026, s2026'))).toEqual(['f2026', 's2026', 'w2027']);
    const now = new Date('2026-09-08T12:00:00Z');
    expect(sinceOf('12h', now)).toBe('2026-09-08T00:00:00.000Z');
    expect(sinceOf('2w', now)).toBe('2026-08-25T12:00:00.000Z');
    expect(sinceOf('2026-09-01T00:00:00Z', now)).toBe('2026-09-01T00:00:00.000Z');
    expect(sinceOf('2026-09-01', now)).toBe('2026-09-01T00:00:00.000Z');
    expect(() => sinceOf('yesterday', now)).toThrow(/--since/);
  });
});
