/**
 * Copying, chowning and removing directory trees without following symlinks.
 *
 * Copy and chown only ever run inside a staging directory that root alone can
 * enter, so nobody can swap a directory for a symlink under them. Removal runs
 * inside a user's home, which the user can change while it runs: it is left to
 * coreutils `rm`, whose fts walk uses openat() and refuses to follow symlinks,
 * which Node's path-based recursive rm cannot promise.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TransientError } from '../core/errors';

/** Permission bits kept when copying skel: setuid/setgid never travel into a home. */
const MODE_MASK = 0o1777;

/**
 * Copies the entry `src` (file, directory or symlink) to `dst`, which must not
 * exist, recursively; modes preserved, symlinks copied as symlinks, other file
 * types (fifos, devices, sockets) skipped. Returns whether `dst` was made.
 */
export async function copyEntry(src: string, dst: string): Promise<boolean> {
  const st = await fs.lstat(src);
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dst);
  } else if (st.isDirectory()) {
    await fs.mkdir(dst, { mode: 0o700 });
    for (const name of await fs.readdir(src)) await copyEntry(path.join(src, name), path.join(dst, name));
    await fs.chmod(dst, st.mode & MODE_MASK);
  } else if (st.isFile()) {
    await fs.copyFile(src, dst, constants.COPYFILE_EXCL);
    await fs.chmod(dst, st.mode & MODE_MASK);
  } else {
    return false;
  }
  return true;
}

/** Copies the contents of directory `src` into existing directory `dst`. */
export async function copyContents(src: string, dst: string): Promise<void> {
  for (const name of await fs.readdir(src)) await copyEntry(path.join(src, name), path.join(dst, name));
}

/**
 * Gives `p` and everything below it to uid/gid, children before parents, never
 * following a symlink (lchown). Children first, so a directory becomes the
 * user's only once nothing below it is left to do.
 */
export async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  const st = await fs.lstat(p);
  if (st.isDirectory()) {
    for (const name of await fs.readdir(p)) await chownTree(path.join(p, name), uid, gid);
  }
  await fs.lchown(p, uid, gid);
}

/** `rm -rf --one-file-system -- p`, with a deadline. */
export function removeTree(p: string, rmPath: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(rmPath, ['-rf', '--one-file-system', '--', p], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.killed) return reject(new TransientError('TIMEOUT', `removing ${p} timed out after ${timeoutMs} ms`));
      if (e.code === 'ENOENT') return reject(Object.assign(new Error(`cannot run ${rmPath}`), { code: 'EACCES' }));
      // e.g. a file created while rm ran ("Directory not empty"), or a mount point inside.
      const detail = String(stderr).split('\n').filter(Boolean)[0] ?? `exit ${String(e.code)}`;
      reject(new TransientError('FS_BUSY', `removing ${p}: ${detail.slice(0, 200)}`));
    });
  });
}
