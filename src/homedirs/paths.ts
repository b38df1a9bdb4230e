/**
 * Which paths the home-directory adapter may touch, and what an fs error means.
 *
 * The adapter runs as root on the file server, inside directories that users
 * own, so every path is built from a checked name and checked to stay under
 * its root before anything is done with it.
 */
import * as path from 'node:path';
import { NAME_RE } from '../core/model/names';
import { type CeoError, isCeoError, PermanentError, TransientError } from '../core/errors';

/** A home directory's name: a uid or club name, by the one name rule (docs/directory.md#names). */
export const HOME_NAME = NAME_RE;

/** `<root>/<name>`, after checking the name and that the result stays directly under `root`. */
export function homePath(root: string, name: string): string {
  if (typeof root !== 'string' || !path.isAbsolute(root)) {
    throw new PermanentError('HOME_UNSAFE_PATH', `home root must be an absolute path`);
  }
  if (typeof name !== 'string' || !HOME_NAME.test(name)) {
    throw new PermanentError('HOME_UNSAFE_PATH', `invalid home directory name ${JSON.stringify(String(name)).slice(0, 80)}`);
  }
  const base = path.resolve(root);
  const home = path.resolve(base, name);
  if (path.dirname(home) !== base) throw new PermanentError('HOME_UNSAFE_PATH', `${name} resolves outside ${base}`);
  return home;
}

/** A uid or gid a home may be given: never root's, never out of range. */
export function checkOwner(uidNumber: number, gidNumber: number): void {
  for (const [what, n] of [
    ['uid', uidNumber],
    ['gid', gidNumber],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || n > 0xfffffffe) {
      throw new PermanentError('INVALID_PAYLOAD', `invalid ${what} number ${String(n)}`);
    }
  }
}

const TRANSIENT = new Set(['EBUSY', 'EAGAIN', 'EIO', 'ESTALE', 'ETIMEDOUT', 'EINTR', 'ENOSPC', 'EDQUOT', 'ENOTEMPTY', 'ENOENT', 'EMFILE', 'ENFILE']);
const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'EXDEV', 'ENAMETOOLONG', 'ELOOP', 'EINVAL']);

/**
 * Classifies an fs error during `what`. Busy, full or flaky file systems (an NFS
 * server rebooting) are retried; refusals are permanent. Already-classified
 * errors pass through.
 */
export function classifyFsError(err: unknown, what: string): CeoError {
  if (isCeoError(err)) return err;
  const e = err as { code?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const opts = { cause: err, serverCode: code };
  // Node's messages name the syscall and path ("ENOENT: no such file or directory, rename 'a' -> 'b'").
  const detail = err instanceof Error && err.message ? err.message.split('\n')[0]!.slice(0, 300) : (code ?? 'error');
  const text = `${what}: ${detail}`;
  if (code && PERMANENT.has(code)) return new PermanentError('FS_REFUSED', text, undefined, opts);
  if (code && TRANSIENT.has(code)) return new TransientError('FS_BUSY', text, undefined, opts);
  return new TransientError('UNKNOWN', text, undefined, opts);
}
