/**
 * The kadmin adapter against the test stack's kadmind. Principals made here
 * have a random suffix and are deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKadmin, type KadminOptions } from '../../src/krb5/kadmin';
import type { Kadmin } from '../../src/core/ports';
import { startService, stopService, testStack } from '../helpers/stack';
import { codeOf } from '../helpers/rejection';

const info = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const name = (s: string) => `t${suffix}${s}`;
const realm = info.krb5.realm;

const opts: KadminOptions = {
  kadminPath: 'kadmin',
  principal: info.krb5.adminPrincipal,
  keytab: info.krb5.adminKeytab,
  realm,
  krb5Config: info.krb5.config,
  timeoutMs: 10000,
};


/** Whether `password` gets a ticket for `principal` (kinit reading the password on stdin). */
function kinitWorks(principal: string, password: string): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'kinit-'));
  return new Promise((resolve) => {
    const child = execFile(
      'kinit',
      [principal],
      { env: { PATH: process.env.PATH, KRB5_CONFIG: info.krb5.config, KRB5CCNAME: `FILE:${dir}/cc` }, timeout: 10000 },
      (err) => {
        rmSync(dir, { recursive: true, force: true });
        resolve(!err);
      },
    );
    child.stdin!.end(`${password}\n`);
  });
}

const made = new Set<string>();
let kadmin: Kadmin;
let scratch: string;

beforeAll(() => {
  kadmin = createKadmin(opts);
  scratch = mkdtempSync(join(tmpdir(), 'kadmin-test-'));
});

afterAll(async () => {
  for (const p of made) await kadmin.deletePrincipal(p).catch(() => undefined);
  await kadmin.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('kadmin adapter', () => {
  it('answers ping', async () => {
    await expect(kadmin.ping()).resolves.toBeUndefined();
  });

  it('adds a principal that must change its password, and refuses to add it twice', async () => {
    const p = name('a');
    made.add(p);
    await kadmin.addPrincipal(p, 'First-pass-1234', { needChange: true });
    expect(await kadmin.getPrincipal(p)).toEqual({ name: `${p}@${realm}`, attributes: ['REQUIRES_PWCHANGE'] });
    const again = await codeOf(kadmin.addPrincipal(p, 'Other-pass-1234', { needChange: true }));
    expect(again).toMatchObject({ name: 'PermanentError', code: 'KRB5_PRINCIPAL_EXISTS', permanent: true });
    expect(again.message).not.toContain('Other-pass-1234');
  });

  it('sets the password it was given (over stdin), with and without a forced change', async () => {
    const p = name('b');
    made.add(p);
    await kadmin.addPrincipal(p, 'Start-pass-1234', { needChange: false });
    expect((await kadmin.getPrincipal(p))!.attributes).toEqual([]);
    expect(await kinitWorks(p, 'Start-pass-1234')).toBe(true);
    expect(await kinitWorks(p, 'wrong-password')).toBe(false);

    await kadmin.setPassword(p, 'Second-pass-1234 with spaces', { needChange: false });
    expect(await kinitWorks(p, 'Second-pass-1234 with spaces')).toBe(true);
    expect((await kadmin.getPrincipal(p))!.attributes).toEqual([]);

    await kadmin.setPassword(p, 'Third-pass-1234', { needChange: true });
    expect((await kadmin.getPrincipal(p))!.attributes).toContain('REQUIRES_PWCHANGE');
    // Set again (a retried step): still required to change.
    await kadmin.setPassword(p, 'Third-pass-1234', { needChange: true });
    expect((await kadmin.getPrincipal(p))!.attributes).toContain('REQUIRES_PWCHANGE');
  });

  it('classifies a missing principal: null, false, KRB5_NO_SUCH_PRINCIPAL', async () => {
    const p = name('missing');
    expect(await kadmin.getPrincipal(p)).toBeNull();
    expect(await kadmin.deletePrincipal(p)).toBe(false);
    expect(await codeOf(kadmin.setPassword(p, 'Some-pass-1234', { needChange: true }))).toMatchObject({
      name: 'PermanentError',
      code: 'KRB5_NO_SUCH_PRINCIPAL',
    });
  });

  it('deletes a principal once', async () => {
    const p = name('del');
    made.add(p);
    await kadmin.addPrincipal(p, 'Del-pass-1234', { needChange: true });
    expect(await kadmin.deletePrincipal(p)).toBe(true);
    expect(await kadmin.deletePrincipal(p)).toBe(false);
    expect(await kadmin.getPrincipal(p)).toBeNull();
  });

  it.each(['a b', 'x"; delprinc ctdalek; "', "x' -pw 1", 'a\nb', 'ctdalek@OTHER.REALM', 'Upper', '-randkey'])(
    'refuses the principal name %j without running kadmin',
    async (bad) => {
      for (const call of [
        () => kadmin.addPrincipal(bad, 'Pass-1234', { needChange: true }),
        () => kadmin.setPassword(bad, 'Pass-1234', { needChange: true }),
        () => kadmin.getPrincipal(bad),
        () => kadmin.deletePrincipal(bad),
      ]) {
        expect(await codeOf(call())).toMatchObject({ name: 'PermanentError', code: 'INVALID_PAYLOAD' });
      }
      expect(await kadmin.getPrincipal('ctdalek')).not.toBeNull();
    },
  );

  it('refuses a password that would break the stdin protocol, without echoing it', async () => {
    const err = await codeOf(kadmin.addPrincipal(name('nl'), 'line1\nline2', { needChange: true }));
    expect(err).toMatchObject({ code: 'INVALID_PAYLOAD', permanent: true });
    expect(err.message).not.toContain('line1');
    expect(await kadmin.getPrincipal(name('nl'))).toBeNull();
  });

  it('reports missing privileges as KRB5_NO_PRIVILEGE', async () => {
    // The service principal is not in kadm5.acl: it may connect, not add.
    const weak = createKadmin({ ...opts, principal: info.krb5.servicePrincipal, keytab: info.krb5.serviceKeytab });
    made.add(name('weak'));
    expect(await codeOf(weak.addPrincipal(name('weak'), 'Weak-pass-1234', { needChange: true }))).toMatchObject({
      name: 'PermanentError',
      code: 'KRB5_NO_PRIVILEGE',
    });
    await weak.close();
  });

  it('reports a missing keytab as a permanent configuration error', async () => {
    const broken = createKadmin({ ...opts, keytab: join(scratch, 'no-such.keytab') });
    expect(await codeOf(broken.ping())).toMatchObject({ name: 'PermanentError', code: 'KRB5_REFUSED' });
    await broken.close();
  });

  it('passes the password only on stdin, and never KRB5_CLIENT_KTNAME (a process per operation)', async () => {
    // A stand-in kadmin that records what it was given.
    const fake = join(scratch, 'fake-kadmin');
    writeFileSync(
      fake,
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${scratch}/argv\ncat > ${scratch}/stdin\nenv > ${scratch}/env\necho 'Principal "x" created.'\n`,
    );
    chmodSync(fake, 0o755);
    const saved = process.env.KRB5_CLIENT_KTNAME;
    process.env.KRB5_CLIENT_KTNAME = '/etc/some.keytab';
    try {
      const k = createKadmin({ ...opts, kadminPath: fake, session: false });
      await k.addPrincipal('alice', 'Very-secret-pass-1234', { needChange: true });
      await k.close();
    } finally {
      if (saved === undefined) delete process.env.KRB5_CLIENT_KTNAME;
      else process.env.KRB5_CLIENT_KTNAME = saved;
    }
    const argv = readFileSync(join(scratch, 'argv'), 'utf8').split('\n');
    expect(argv).toEqual(['-k', '-t', info.krb5.adminKeytab, '-p', info.krb5.adminPrincipal, '-r', realm, '-q', 'addprinc +needchange alice', '']);
    expect(argv.join(' ')).not.toContain('Very-secret');
    expect(readFileSync(join(scratch, 'stdin'), 'utf8')).toBe('Very-secret-pass-1234\nVery-secret-pass-1234\n');
    const env = readFileSync(join(scratch, 'env'), 'utf8');
    expect(env).not.toContain('KRB5_CLIENT_KTNAME');
    expect(env).toContain(`KRB5_CONFIG=${info.krb5.config}`);
  });

  it('on the session, the password goes only to stdin, never argv; kadmin\'s echo of it is dropped', async () => {
    // A stand-in interactive kadmin: prompts, echoes each line it reads (as kadmin does), answers.
    const fake = join(scratch, 'fake-session-kadmin');
    writeFileSync(
      fake,
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${scratch}/sargv\nenv > ${scratch}/senv\nprintf 'kadmin:  '\nwhile IFS= read -r line; do printf '%s\\n' "$line" >> ${scratch}/sstdin; printf '%s\\nPrincipal "x" created.\\nkadmin:  ' "$line"; done\n`,
    );
    chmodSync(fake, 0o755);
    const saved = process.env.KRB5_CLIENT_KTNAME;
    process.env.KRB5_CLIENT_KTNAME = '/etc/some.keytab';
    try {
      const k = createKadmin({ ...opts, kadminPath: fake });
      await k.addPrincipal('alice', 'Very-secret-pass-1234', { needChange: true });
      await k.addPrincipal('bob', 'Other-secret-pass-5678', { needChange: false });
      await k.close();
    } finally {
      if (saved === undefined) delete process.env.KRB5_CLIENT_KTNAME;
      else process.env.KRB5_CLIENT_KTNAME = saved;
    }
    const argv = readFileSync(join(scratch, 'sargv'), 'utf8').split('\n');
    expect(argv).toEqual(['-k', '-t', info.krb5.adminKeytab, '-p', info.krb5.adminPrincipal, '-r', realm, '']);
    expect(readFileSync(join(scratch, 'sstdin'), 'utf8')).toBe('addprinc +needchange -pw "Very-secret-pass-1234" alice\naddprinc -pw "Other-secret-pass-5678" bob\n');
    const env = readFileSync(join(scratch, 'senv'), 'utf8');
    expect(env).not.toContain('KRB5_CLIENT_KTNAME');
    expect(env).toContain(`KRB5_CONFIG=${info.krb5.config}`);
  });

  it('a failure on the session is classified, and its message never holds the password', async () => {
    const p = `t${Date.now().toString(36)}s`;
    await kadmin.addPrincipal(p, 'Session-pass-1234', { needChange: true });
    made.add(p);
    const err = await codeOf(kadmin.addPrincipal(p, 'Session-pass-5678', { needChange: true }));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'KRB5_PRINCIPAL_EXISTS' });
    expect(err.message).not.toContain('Session-pass');
  });

  it('kills a kadmin that hangs, and reports TIMEOUT', async () => {
    const fake = join(scratch, 'slow-kadmin');
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${scratch}/slow.pid\nexec sleep 30\n`);
    chmodSync(fake, 0o755);
    const k = createKadmin({ ...opts, kadminPath: fake, timeoutMs: 300 });
    const started = Date.now();
    expect(await codeOf(k.getPrincipal('alice'))).toMatchObject({ name: 'TransientError', code: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(3000);
    const pid = Number(readFileSync(join(scratch, 'slow.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await k.close();
  });

  it('reports a stopped kadmind as transient KRB5_UNAVAILABLE, and works again once it is back', async () => {
    await stopService(info, 'kadmind');
    try {
      expect(await codeOf(kadmin.ping())).toMatchObject({ name: 'TransientError', code: 'KRB5_UNAVAILABLE', permanent: false });
    } finally {
      await startService(info, 'kadmind');
    }
    await expect(kadmin.ping()).resolves.toBeUndefined();
  });
});
