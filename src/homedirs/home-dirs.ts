/**
 * The `HomeDirs` adapter: home directories and `~/.forward` on the file server,
 * with node:fs as root.
 *
 * A user owns their home and may plant symlinks anywhere in it, so nothing here
 * follows a symlink: the home itself is checked with lstat (or opened with
 * O_NOFOLLOW), files are created with O_CREAT|O_EXCL|O_NOFOLLOW and renamed into
 * place (rename replaces a planted symlink instead of writing through it).
 *
 * A new home is built in a staging directory that only root can enter, then
 * renamed into place in one step: the home is either absent or complete, so a
 * crash mid-copy leaves only staging debris, which the re-run clears and redoes.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PermanentError, TransientError, withTimeout } from '../core/errors';
import type { Logger } from '../core/log';
import { isForwardLine } from '../core/model/addresses';
import type { HomeDirs } from '../core/ports';
import { checkOwner, classifyFsError, homePath } from './paths';
import { chownTree, copyContents, copyEntry, removeTree } from './tree';

export interface HomeDirsOptions {
  /** Deadline of one operation (a skel copy or a removal may take a while on NFS). Default 60 s. */
  timeoutMs?: number;
  /** coreutils `rm`, used for recursive removal. Default `/bin/rm`. */
  rmPath?: string;
  /** Where warnings go (a `.forward` that is refused, say). */
  log?: Pick<Logger, 'warn'>;
}

const MAX_FORWARD_BYTES = 64 * 1024;

/** A private file's name in a home: a plain name, never a path, never hidden, never ours (`.ceod-…`). */
export const PRIVATE_FILE_NAME = /^[a-z][a-z0-9-]{0,63}$/;

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY, O_RDONLY, O_DIRECTORY, O_NONBLOCK } = constants;

async function lstatOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function checkAddresses(addresses: string[]): void {
  if (!Array.isArray(addresses)) throw new PermanentError('INVALID_PAYLOAD', 'forwarding addresses must be a list');
  for (const a of addresses) {
    // The one address rule the API applies too (core/model/addresses.ts), plus `\uid` lines.
    if (!isForwardLine(a)) {
      throw new PermanentError('INVALID_PAYLOAD', `invalid forwarding address ${JSON.stringify(String(a)).slice(0, 80)}`);
    }
  }
}

/** Removes `p` whatever it is, best effort: used on our own staging debris only. */
async function discard(p: string, rmPath: string, timeoutMs: number): Promise<void> {
  await removeTree(p, rmPath, timeoutMs).catch(() => undefined);
}

export function createHomeDirs(opts: HomeDirsOptions = {}): HomeDirs {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const rmPath = opts.rmPath ?? '/bin/rm';

  /** Runs `work` with the deadline, classifying fs errors. */
  async function op<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(what, timeoutMs, work);
    } catch (e) {
      throw classifyFsError(e, what);
    }
  }

  const stagingPrefix = (name: string): string => `.ceod-new-${name}-`;

  /** Clears staging directories a crashed run left for `name`. */
  async function clearStaging(root: string, name: string): Promise<void> {
    const prefix = stagingPrefix(name);
    for (const entry of await fs.readdir(root)) {
      if (entry.startsWith(prefix)) await discard(path.join(root, entry), rmPath, timeoutMs);
    }
  }

  /**
   * The home exists, owned by its user: add top-level skel entries it lacks
   * (a home made by hand, or by an older tool that crashed mid-copy). Each is
   * built and chowned in root-only staging, then renamed in, so nothing is ever
   * written through a path the user controls.
   */
  async function addMissingSkel(root: string, name: string, home: string, uid: number, gid: number, skel: string): Promise<void> {
    const missing: string[] = [];
    for (const entry of await fs.readdir(skel)) {
      if (!(await lstatOrNull(path.join(home, entry)))) missing.push(entry);
    }
    if (missing.length === 0) return;
    const staging = await fs.mkdtemp(path.join(root, stagingPrefix(name)));
    try {
      for (const entry of missing) {
        if (!(await copyEntry(path.join(skel, entry), path.join(staging, entry)))) continue; // a fifo, say
        await chownTree(path.join(staging, entry), uid, gid);
        try {
          await fs.rename(path.join(staging, entry), path.join(home, entry));
        } catch (e) {
          // The user made one meanwhile: theirs wins.
          if (!['EEXIST', 'ENOTEMPTY', 'EISDIR', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        }
      }
    } finally {
      await discard(staging, rmPath, timeoutMs);
    }
  }

  /** Decides about a home that is already there. */
  async function ensureExisting(st: import('node:fs').Stats, root: string, name: string, home: string, uid: number, gid: number, skel?: string): Promise<void> {
    if (st.isSymbolicLink()) throw new PermanentError('HOME_UNSAFE_PATH', `${home} is a symlink`);
    if (!st.isDirectory()) throw new PermanentError('HOME_EXISTS', `${home} exists and is not a directory`);
    if (st.uid !== uid) throw new PermanentError('HOME_EXISTS', `${home} exists and belongs to uid ${st.uid}`);
    if (skel) await addMissingSkel(root, name, home, uid, gid, skel);
  }

  /**
   * Opens the home directory itself without following a symlink, and checks it
   * is a directory owned by `uid`. The returned handle pins the directory, and
   * is fsync'ed after a rename inside it.
   */
  async function openHome(home: string, uid: number): Promise<fs.FileHandle> {
    let dir: fs.FileHandle;
    try {
      dir = await fs.open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new PermanentError('HOME_MISSING', `${home} does not exist`);
      if (code === 'ELOOP' || code === 'ENOTDIR') throw new PermanentError('HOME_UNSAFE_PATH', `${home} is not a directory (or is a symlink)`);
      throw e;
    }
    const st = await dir.stat();
    if (st.uid !== uid) {
      await dir.close();
      throw new PermanentError('HOME_UNSAFE_PATH', `${home} belongs to uid ${st.uid}, not ${uid}`);
    }
    return dir;
  }

  return {
    create(root, name, uidNumber, gidNumber, skel) {
      return op(`create home ${name} in ${root}`, async () => {
        const home = homePath(root, name);
        checkOwner(uidNumber, gidNumber);
        const existing = await lstatOrNull(home);
        if (existing) return ensureExisting(existing, root, name, home, uidNumber, gidNumber, skel);
        if (skel) {
          const s = await lstatOrNull(skel);
          if (!s || !s.isDirectory()) throw new PermanentError('FS_REFUSED', `skel ${skel} is not a directory`);
        }
        await clearStaging(root, name);
        // mkdtemp makes it 0700: nobody but root can enter while it is filled.
        const staging = await fs.mkdtemp(path.join(root, stagingPrefix(name)));
        try {
          if (skel) await copyContents(skel, staging);
          await chownTree(staging, uidNumber, gidNumber);
          await fs.chmod(staging, 0o755);
          await fs.rename(staging, home);
        } catch (e) {
          await discard(staging, rmPath, timeoutMs);
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST' || code === 'ENOTEMPTY') {
            // A concurrent run finished first: judge what it left.
            const now = await lstatOrNull(home);
            if (now) return ensureExisting(now, root, name, home, uidNumber, gidNumber, skel);
          }
          throw e;
        }
      });
    },

    remove(root, name, opts = {}) {
      return op(`remove home ${name} in ${root}`, async () => {
        const home = homePath(root, name);
        const st = await lstatOrNull(home);
        if (!st) return false;
        if (opts.owner !== undefined && st.isDirectory() && st.uid !== opts.owner) {
          throw new PermanentError('HOME_NOT_OURS', `${home} is owned by uid ${st.uid}, not ${opts.owner}: left in place`);
        }
        if (!st.isDirectory()) {
          // A symlink (or a file) at the home path: remove the link itself, never its target.
          await fs.unlink(home);
          return true;
        }
        await removeTree(home, rmPath, timeoutMs);
        if (await lstatOrNull(home)) throw new TransientError('FS_BUSY', `${home} is still there after removal`);
        return true;
      });
    },

    writeForward(root, name, uidNumber, gidNumber, addresses) {
      return op(`write .forward of ${name}`, async () => {
        const home = homePath(root, name);
        checkOwner(uidNumber, gidNumber);
        checkAddresses(addresses);
        const dir = await openHome(home, uidNumber);
        try {
          const target = path.join(home, '.forward');
          if (addresses.length === 0) {
            // unlink never follows a symlink: a planted link is removed, its target untouched.
            await fs.unlink(target).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'ENOENT') throw e;
            });
          } else {
            const tmp = path.join(home, `.forward.ceod-${randomBytes(6).toString('hex')}`);
            // O_EXCL|O_NOFOLLOW: a fresh file of ours, never something planted at that name.
            const fh = await fs.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
            try {
              try {
                await fh.writeFile(addresses.join('\n') + '\n');
                await fh.chown(uidNumber, gidNumber);
                await fh.chmod(0o644);
                await fh.sync();
              } finally {
                await fh.close();
              }
              await fs.rename(tmp, target);
            } catch (e) {
              await fs.unlink(tmp).catch(() => undefined); // our own temp file; the error that matters is `e`
              if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
                throw new PermanentError('HOME_UNSAFE_PATH', `${target} is a directory`);
              }
              throw e;
            }
          }
          await dir.sync();
        } finally {
          await dir.close();
        }
      });
    },

    writePrivateFile(root, name, uidNumber, gidNumber, file, content) {
      return op(`write ~${name}/${file}`, async () => {
        const home = homePath(root, name);
        checkOwner(uidNumber, gidNumber);
        if (typeof file !== 'string' || !PRIVATE_FILE_NAME.test(file)) {
          throw new PermanentError('INVALID_PAYLOAD', `invalid file name ${JSON.stringify(String(file)).slice(0, 80)}`);
        }
        const dir = await openHome(home, uidNumber);
        try {
          const target = path.join(home, file);
          const old = `${target}.old`;
          // A symlink at either name is refused, never followed (nor renamed over: the user is told).
          for (const p of [target, old]) {
            const st = await lstatOrNull(p);
            if (st && !st.isFile()) throw new PermanentError('HOME_UNSAFE_PATH', `${p} is ${st.isSymbolicLink() ? 'a symlink' : 'not a regular file'}: remove it and try again`);
          }
          const tmp = path.join(home, `.${file}.ceod-${randomBytes(6).toString('hex')}`);
          // O_EXCL|O_NOFOLLOW: a fresh file of ours, never something planted at that name.
          const fh = await fs.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
          try {
            try {
              await fh.writeFile(content);
              await fh.chown(uidNumber, gidNumber);
              await fh.chmod(0o600);
              await fh.sync();
            } finally {
              await fh.close();
            }
            // rename moves a directory entry, never what a link points to; a file that
            // turned into something else since the check fails here and is refused.
            await fs.rename(target, old).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'ENOENT') throw e;
            });
            await fs.rename(tmp, target);
          } catch (e) {
            await fs.unlink(tmp).catch(() => undefined); // our own temp file; the error that matters is `e`
            if (['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) {
              throw new PermanentError('HOME_UNSAFE_PATH', `${target} or ${old} is a directory`);
            }
            throw e;
          }
          await dir.sync();
        } finally {
          await dir.close();
        }
      });
    },

    readForward(root, name) {
      return op(`read .forward of ${name}`, async () => {
        const home = homePath(root, name);
        const st = await lstatOrNull(home);
        if (!st) return null;
        if (!st.isDirectory()) throw new PermanentError('HOME_UNSAFE_PATH', `${home} is not a directory (or is a symlink)`);
        let fh: fs.FileHandle;
        try {
          // O_NONBLOCK: a fifo planted as .forward must not hang the reader.
          fh = await fs.open(path.join(home, '.forward'), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return null;
          if (code === 'ELOOP') throw new PermanentError('HOME_UNSAFE_PATH', `${home}/.forward is a symlink`);
          throw e;
        }
        try {
          const fst = await fh.stat();
          if (!fst.isFile()) throw new PermanentError('HOME_UNSAFE_PATH', `${home}/.forward is not a regular file`);
          if (fst.size > MAX_FORWARD_BYTES) throw new PermanentError('HOME_UNSAFE_PATH', `${home}/.forward is too large`);
          // A hard link to someone else's file (or a file the user does not own) is not the
          // user's forwarding: reading it would show another file's contents. Report it as absent.
          if (fst.uid !== st.uid || fst.nlink > 1) {
            opts.log?.warn({ home, owner: st.uid, fileOwner: fst.uid, links: fst.nlink }, '.forward is not the user\'s own file (another owner or a hard link): treated as absent');
            return null;
          }
          const text = await fh.readFile('utf8');
          return text
            .split(/[\n,]/)
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.startsWith('#'));
        } finally {
          await fh.close();
        }
      });
    },

    ping(root) {
      return op(`check home root ${root}`, async () => {
        const st = await fs.stat(root);
        if (!st.isDirectory()) throw new PermanentError('FS_REFUSED', `${root} is not a directory`);
      });
    },
  };
}
