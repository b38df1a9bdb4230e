/**
 * The home-directory adapter on the real file system, as root: a private
 * root (mkdtemp), real chown to uid 20999, real symlinks planted where a user
 * could plant them.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHomeDirs } from '../../src/homedirs';
import type { HomeDirs } from '../../src/core/ports';
import { codeOf } from '../helpers/rejection';

const UID = 20999;
const GID = 20998;
const OTHER = 20997;

let base: string;
let root: string;
let skel: string;
let outside: string;
let homes: HomeDirs;


const mode = (p: string) => fs.lstatSync(p).mode & 0o7777;
const owner = (p: string) => {
  const st = fs.lstatSync(p);
  return [st.uid, st.gid];
};

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('the home-directory tests chown files: run them as root');
  base = fs.mkdtempSync(join(tmpdir(), 'homedirs-test-'));
  root = join(base, 'users');
  skel = join(base, 'skel');
  outside = join(base, 'outside');
  fs.mkdirSync(root, { mode: 0o755 });
  fs.mkdirSync(outside);
  fs.writeFileSync(join(outside, 'precious'), 'do not touch\n');
  // A skel with the things that go wrong: modes, a nested dir, a symlink out, setuid, a fifo.
  fs.mkdirSync(join(skel, 'bin'), { recursive: true });
  fs.writeFileSync(join(skel, '.bashrc'), 'export PS1="$ "\n');
  fs.chmodSync(join(skel, '.bashrc'), 0o644);
  fs.writeFileSync(join(skel, '.profile'), '# profile\n');
  fs.chmodSync(join(skel, '.profile'), 0o600);
  fs.writeFileSync(join(skel, 'bin', 'hello'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(join(skel, 'bin', 'hello'), 0o755);
  fs.chmodSync(join(skel, 'bin'), 0o700);
  fs.symlinkSync(join(outside, 'precious'), join(skel, '.link'));
  fs.writeFileSync(join(skel, 'suid'), 'x');
  fs.chmodSync(join(skel, 'suid'), 0o4755);
  execFileSync('mkfifo', [join(skel, 'fifo')]);
  homes = createHomeDirs({ timeoutMs: 10000 });
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

describe('HomeDirs.create', () => {
  it('makes an empty home, mode 0755, owned by the user', async () => {
    await homes.create(root, 'plain', UID, GID);
    expect(mode(join(root, 'plain'))).toBe(0o755);
    expect(owner(join(root, 'plain'))).toEqual([UID, GID]);
    expect(fs.readdirSync(join(root, 'plain'))).toEqual([]);
  });

  it('copies skel: modes kept, setuid dropped, symlinks as symlinks, fifos skipped, everything chowned', async () => {
    await homes.create(root, 'alice', UID, GID, skel);
    const home = join(root, 'alice');
    expect(fs.readdirSync(home).sort()).toEqual(['.bashrc', '.link', '.profile', 'bin', 'suid']);
    expect(mode(home)).toBe(0o755);
    expect(mode(join(home, '.bashrc'))).toBe(0o644);
    expect(mode(join(home, '.profile'))).toBe(0o600);
    expect(mode(join(home, 'bin'))).toBe(0o700);
    expect(mode(join(home, 'bin', 'hello'))).toBe(0o755);
    expect(mode(join(home, 'suid'))).toBe(0o755);
    expect(fs.readFileSync(join(home, 'bin', 'hello'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(fs.lstatSync(join(home, '.link')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(join(home, '.link'))).toBe(join(outside, 'precious'));
    for (const p of ['', '.bashrc', '.profile', 'bin', 'bin/hello', 'suid', '.link']) expect(owner(join(home, p))).toEqual([UID, GID]);
    // The symlink was not followed: its target is still root's.
    expect(owner(join(outside, 'precious'))).toEqual([0, 0]);
    // No staging debris next to the homes.
    expect(fs.readdirSync(root).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('is a no-op on a re-run, keeping what the user changed', async () => {
    const home = join(root, 'alice');
    fs.writeFileSync(join(home, '.bashrc'), 'mine\n');
    await homes.create(root, 'alice', UID, GID, skel);
    expect(fs.readFileSync(join(home, '.bashrc'), 'utf8')).toBe('mine\n');
  });

  it('finishes a half-made home: missing skel entries are added and given to the user', async () => {
    const home = join(root, 'half');
    fs.mkdirSync(home, { mode: 0o755 });
    fs.writeFileSync(join(home, '.bashrc'), 'already here\n');
    fs.lchownSync(join(home, '.bashrc'), UID, GID);
    fs.lchownSync(home, UID, GID);
    await homes.create(root, 'half', UID, GID, skel);
    expect(fs.readdirSync(home).sort()).toEqual(['.bashrc', '.link', '.profile', 'bin', 'suid']);
    expect(fs.readFileSync(join(home, '.bashrc'), 'utf8')).toBe('already here\n');
    for (const p of ['.profile', 'bin', 'bin/hello', '.link']) expect(owner(join(home, p))).toEqual([UID, GID]);
    expect(fs.readdirSync(root).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('clears the staging debris of a crashed run and builds the home afresh', async () => {
    const debris = join(root, '.ceod-new-crashed-AbC123');
    fs.mkdirSync(join(debris, 'bin'), { recursive: true });
    fs.writeFileSync(join(debris, 'partial'), 'x');
    await homes.create(root, 'crashed', UID, GID, skel);
    expect(fs.existsSync(debris)).toBe(false);
    expect(fs.readdirSync(join(root, 'crashed')).sort()).toEqual(['.bashrc', '.link', '.profile', 'bin', 'suid']);
  });

  it('refuses a home that belongs to someone else, or is not a directory', async () => {
    fs.mkdirSync(join(root, 'taken'));
    fs.chownSync(join(root, 'taken'), OTHER, OTHER);
    expect(await codeOf(homes.create(root, 'taken', UID, GID, skel))).toMatchObject({ name: 'PermanentError', code: 'HOME_EXISTS', permanent: true });
    expect(fs.readdirSync(join(root, 'taken'))).toEqual([]);

    fs.writeFileSync(join(root, 'afile'), 'x');
    expect((await codeOf(homes.create(root, 'afile', UID, GID))).code).toBe('HOME_EXISTS');
  });

  it('refuses a symlink at the home path, and leaves its target alone', async () => {
    fs.symlinkSync(outside, join(root, 'linked'));
    expect(await codeOf(homes.create(root, 'linked', UID, GID, skel))).toMatchObject({ name: 'PermanentError', code: 'HOME_UNSAFE_PATH', permanent: true });
    expect(fs.readdirSync(outside)).toEqual(['precious']);
    expect(owner(outside)).toEqual([0, 0]);
  });

  it.each(['', '.', '..', '../outside', 'a/b', 'Alice', '-rf', 'x\0'])('refuses the name %j', async (bad) => {
    expect(await codeOf(homes.create(root, bad, UID, GID))).toMatchObject({ code: 'HOME_UNSAFE_PATH', permanent: true });
    expect(await codeOf(homes.remove(root, bad))).toMatchObject({ code: 'HOME_UNSAFE_PATH' });
    expect(await codeOf(homes.writeForward(root, bad, UID, GID, ['a@b.org']))).toMatchObject({ code: 'HOME_UNSAFE_PATH' });
    expect(fs.readdirSync(outside)).toEqual(['precious']);
  });

  it('refuses uid 0 and a missing skel', async () => {
    expect((await codeOf(homes.create(root, 'rooty', 0, 0))).code).toBe('INVALID_PAYLOAD');
    expect((await codeOf(homes.create(root, 'noskel', UID, GID, join(base, 'no-such-skel')))).code).toBe('FS_REFUSED');
    expect(fs.existsSync(join(root, 'noskel'))).toBe(false);
  });
});

describe('HomeDirs.remove', () => {
  it('removes a home once: true, then false', async () => {
    await homes.create(root, 'gone', UID, GID, skel);
    expect(await homes.remove(root, 'gone')).toBe(true);
    expect(fs.existsSync(join(root, 'gone'))).toBe(false);
    expect(await homes.remove(root, 'gone')).toBe(false);
  });

  it('does not follow symlinks inside the home', async () => {
    await homes.create(root, 'trap', UID, GID);
    fs.symlinkSync(outside, join(root, 'trap', 'escape'));
    expect(await homes.remove(root, 'trap')).toBe(true);
    expect(fs.readFileSync(join(outside, 'precious'), 'utf8')).toBe('do not touch\n');
  });

  it('with an owner, removes only a home that owner holds', async () => {
    await homes.create(root, 'clubhome', UID, GID);
    expect(await codeOf(homes.remove(root, 'clubhome', { owner: OTHER }))).toMatchObject({ code: 'HOME_NOT_OURS', permanent: true });
    expect(fs.existsSync(join(root, 'clubhome'))).toBe(true);
    expect(await homes.remove(root, 'clubhome', { owner: UID })).toBe(true);
    expect(await homes.remove(root, 'clubhome', { owner: UID })).toBe(false);
  });

  it('removes only the link when the home path itself is a symlink', async () => {
    fs.symlinkSync(outside, join(root, 'pointer'));
    expect(await homes.remove(root, 'pointer')).toBe(true);
    expect(fs.existsSync(join(root, 'pointer'))).toBe(false);
    expect(fs.readdirSync(outside)).toEqual(['precious']);
  });
});

describe('HomeDirs .forward', () => {
  const home = () => join(root, 'fwd');
  const forward = () => join(home(), '.forward');

  beforeAll(async () => {
    await homes.create(root, 'fwd', UID, GID);
  });

  it('writes one address per line, owned by the user, mode 0644, and reads them back', async () => {
    await homes.writeForward(root, 'fwd', UID, GID, ['alice@example.org', 'a.b+c@example.com']);
    expect(fs.readFileSync(forward(), 'utf8')).toBe('alice@example.org\na.b+c@example.com\n');
    expect(owner(forward())).toEqual([UID, GID]);
    expect(mode(forward())).toBe(0o644);
    expect(await homes.readForward(root, 'fwd')).toEqual(['alice@example.org', 'a.b+c@example.com']);
    // Rewriting replaces; no temp files stay behind.
    await homes.writeForward(root, 'fwd', UID, GID, ['\\fwd', 'x@example.org']);
    expect(await homes.readForward(root, 'fwd')).toEqual(['\\fwd', 'x@example.org']);
    expect(fs.readdirSync(home())).toEqual(['.forward']);
  });

  it('removes .forward for an empty list, and an absent one is no error', async () => {
    await homes.writeForward(root, 'fwd', UID, GID, []);
    expect(fs.existsSync(forward())).toBe(false);
    await homes.writeForward(root, 'fwd', UID, GID, []);
    expect(await homes.readForward(root, 'fwd')).toBeNull();
  });

  it('replaces a planted symlink instead of writing through it', async () => {
    const target = join(outside, 'target');
    fs.writeFileSync(target, 'original\n');
    fs.symlinkSync(target, forward());
    await homes.writeForward(root, 'fwd', UID, GID, ['alice@example.org']);
    expect(fs.readFileSync(target, 'utf8')).toBe('original\n');
    expect(owner(target)).toEqual([0, 0]);
    const st = fs.lstatSync(forward());
    expect(st.isFile()).toBe(true);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([UID, GID, 0o644]);
    expect(fs.readFileSync(forward(), 'utf8')).toBe('alice@example.org\n');
  });

  it('removes a planted symlink (not its target) for an empty list', async () => {
    const target = join(outside, 'target2');
    fs.writeFileSync(target, 'original\n');
    fs.rmSync(forward(), { force: true });
    fs.symlinkSync(target, forward());
    await homes.writeForward(root, 'fwd', UID, GID, []);
    expect(fs.existsSync(forward())).toBe(false);
    expect(fs.readFileSync(target, 'utf8')).toBe('original\n');
  });

  it('refuses to read .forward through a symlink, or from a fifo (without hanging)', async () => {
    fs.rmSync(forward(), { force: true });
    fs.symlinkSync(join(outside, 'precious'), forward());
    expect((await codeOf(homes.readForward(root, 'fwd'))).code).toBe('HOME_UNSAFE_PATH');
    fs.rmSync(forward());
    execFileSync('mkfifo', [forward()]);
    expect((await codeOf(homes.readForward(root, 'fwd'))).code).toBe('HOME_UNSAFE_PATH');
    fs.rmSync(forward());
  });

  it('reads a .forward hard-linked to another file, or owned by someone else, as absent (and warns)', async () => {
    const warnings: unknown[] = [];
    const logged = createHomeDirs({ timeoutMs: 10000, log: { warn: (o: unknown) => void warnings.push(o) } as never });
    // A hard link to a file only root may read: reading it must not show its contents.
    const secret = join(root, 'secret-of-root');
    fs.writeFileSync(secret, 'root-only@example.org\n', { mode: 0o600 });
    fs.rmSync(forward(), { force: true });
    fs.linkSync(secret, forward());
    expect(await logged.readForward(root, 'fwd')).toBeNull();
    fs.rmSync(forward());
    fs.rmSync(secret);
    // The user's own file, linked twice (both links theirs): still a hard link, still refused.
    fs.writeFileSync(forward(), 'mine@example.org\n');
    fs.chownSync(forward(), UID, GID);
    fs.linkSync(forward(), join(home(), 'second-link'));
    expect(await logged.readForward(root, 'fwd')).toBeNull();
    fs.rmSync(join(home(), 'second-link'));
    expect(await logged.readForward(root, 'fwd')).toEqual(['mine@example.org']);
    // A file the user does not own.
    fs.chownSync(forward(), OTHER, GID);
    expect(await logged.readForward(root, 'fwd')).toBeNull();
    fs.rmSync(forward());
    expect(warnings).toHaveLength(3);
  });

  it.each([['|/bin/sh -c evil'], ['/etc/passwd'], ['a@b.org\n|cmd'], [':include:/etc/x'], ['"quoted"@x.org'], ['#comment@x.org'], ['a|b@x.org'], ['a/b@x.org'], ['a`b@x.org'], ['a{b}@x.org'], ['a%b@x.org'], ['a!b@x.org'], ['a\\b@x.org']])(
    'refuses the address %j',
    async (bad) => {
      expect(await codeOf(homes.writeForward(root, 'fwd', UID, GID, ['ok@example.org', bad]))).toMatchObject({ code: 'INVALID_PAYLOAD', permanent: true });
      expect(fs.existsSync(forward())).toBe(false);
    },
  );

  it('refuses a missing home, a symlinked home, and a home of another user', async () => {
    expect(await codeOf(homes.writeForward(root, 'nobody', UID, GID, ['a@b.org']))).toMatchObject({ name: 'PermanentError', code: 'HOME_MISSING', permanent: true });
    fs.symlinkSync(outside, join(root, 'symhome'));
    expect((await codeOf(homes.writeForward(root, 'symhome', UID, GID, ['a@b.org']))).code).toBe('HOME_UNSAFE_PATH');
    expect(fs.readdirSync(outside)).not.toContain('.forward');
    expect((await codeOf(homes.writeForward(root, 'taken', UID, GID, ['a@b.org']))).code).toBe('HOME_UNSAFE_PATH');
    expect(fs.existsSync(join(root, 'taken', '.forward'))).toBe(false);
    expect(await homes.readForward(root, 'nobody')).toBeNull();
  });
});

describe('HomeDirs.writePrivateFile (the database info files)', () => {
  const home = () => join(root, 'info_1');
  const file = () => join(home(), 'ceo-mysql-info');
  const old = () => `${file()}.old`;
  /** Everything under `outside`, with contents: must never change. */
  const snapshot = () => fs.readdirSync(outside).map((f) => [f, fs.lstatSync(join(outside, f)).isFile() ? fs.readFileSync(join(outside, f), 'utf8') : 'dir']);

  beforeAll(async () => {
    await homes.create(root, 'info_1', UID, GID);
  });

  it('writes the file, owned by the user, mode 0600; a second write keeps the first as .old', async () => {
    await homes.writePrivateFile(root, 'info_1', UID, GID, 'ceo-mysql-info', 'Password: one\n');
    expect(fs.readFileSync(file(), 'utf8')).toBe('Password: one\n');
    expect([...owner(file()), mode(file())]).toEqual([UID, GID, 0o600]);
    await homes.writePrivateFile(root, 'info_1', UID, GID, 'ceo-mysql-info', 'Password: two\n');
    expect(fs.readFileSync(file(), 'utf8')).toBe('Password: two\n');
    expect(fs.readFileSync(old(), 'utf8')).toBe('Password: one\n');
    expect([...owner(old()), mode(old())]).toEqual([UID, GID, 0o600]);
    // No temp files stay behind.
    expect(fs.readdirSync(home()).sort()).toEqual(['ceo-mysql-info', 'ceo-mysql-info.old']);
  });

  it.each([
    ['the file', () => file()],
    ['the .old file', () => old()],
  ])('refuses a symlink planted as %s, and touches nothing it points to', async (_what, at) => {
    const before = snapshot();
    const content = fs.readFileSync(file(), 'utf8');
    fs.rmSync(at(), { force: true });
    fs.symlinkSync(join(outside, 'precious'), at());
    const err = await codeOf(homes.writePrivateFile(root, 'info_1', UID, GID, 'ceo-mysql-info', 'Password: three\n'));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'HOME_UNSAFE_PATH', permanent: true });
    expect(err.message).toMatch(/symlink/);
    expect(snapshot()).toEqual(before);
    expect(owner(join(outside, 'precious'))).toEqual([0, 0]);
    expect(fs.lstatSync(at()).isSymbolicLink()).toBe(true);
    fs.rmSync(at());
    if (at() === file()) fs.writeFileSync(file(), content);
    expect(fs.readdirSync(home()).filter((f) => f.includes('ceod-'))).toEqual([]);
  });

  it('refuses a directory at the name', async () => {
    fs.rmSync(file(), { force: true });
    fs.mkdirSync(file());
    expect(await codeOf(homes.writePrivateFile(root, 'info_1', UID, GID, 'ceo-mysql-info', 'x\n'))).toMatchObject({ code: 'HOME_UNSAFE_PATH' });
    fs.rmdirSync(file());
  });

  it('refuses a symlinked home, a missing home, a home of another user, and a file name that is a path', async () => {
    const before = snapshot();
    fs.symlinkSync(outside, join(root, 'syminfo'));
    expect(await codeOf(homes.writePrivateFile(root, 'syminfo', UID, GID, 'ceo-mysql-info', 'x\n'))).toMatchObject({ code: 'HOME_UNSAFE_PATH' });
    expect(snapshot()).toEqual(before);
    expect(await codeOf(homes.writePrivateFile(root, 'nobody', UID, GID, 'ceo-mysql-info', 'x\n'))).toMatchObject({ code: 'HOME_MISSING' });
    expect(await codeOf(homes.writePrivateFile(root, 'taken', UID, GID, 'ceo-mysql-info', 'x\n'))).toMatchObject({ code: 'HOME_UNSAFE_PATH' });
    for (const bad of ['../precious', '.bashrc', 'a/b', '', 'x'.repeat(65)]) {
      expect(await codeOf(homes.writePrivateFile(root, 'info_1', UID, GID, bad, 'x\n'))).toMatchObject({ code: 'INVALID_PAYLOAD' });
    }
    expect(snapshot()).toEqual(before);
  });
});

describe('HomeDirs.ping', () => {
  it('accepts a directory root and refuses a file', async () => {
    await expect(homes.ping(root)).resolves.toBeUndefined();
    expect((await codeOf(homes.ping(join(outside, 'precious')))).code).toBe('FS_REFUSED');
    expect((await codeOf(homes.ping(join(base, 'missing')))).permanent).toBe(false);
  });
});
