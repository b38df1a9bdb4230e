/** The home-directory port: homes and `~/.forward` on the file server (adapter: `src/homedirs`). */

export interface HomeDirs {
  /**
   * Ensures `<root>/<name>` exists, copied from `skel` if given, owned by uid/gid.
   * Already there and owned by `uidNumber`: success. There and owned by someone
   * else: PermanentError HOME_EXISTS.
   */
  create(root: string, name: string, uidNumber: number, gidNumber: number, skel?: string): Promise<void>;
  /**
   * Removes `<root>/<name>` if present. Returns false if there was nothing.
   * With `owner`, a directory owned by another uid is left alone: PermanentError HOME_NOT_OURS.
   */
  remove(root: string, name: string, opts?: { owner?: number }): Promise<boolean>;
  /**
   * Writes `~/.forward` atomically (temp file + rename), mode 0644, owned by the
   * user, never following a symlink; an empty list removes the file.
   */
  writeForward(root: string, name: string, uidNumber: number, gidNumber: number, addresses: string[]): Promise<void>;
  readForward(root: string, name: string): Promise<string[] | null>;
  /**
   * Writes `~/<file>` (a plain file name, e.g. `ceo-mysql-info`) with `content`,
   * mode 0600, owned by the user, atomically (temp file + rename). An existing
   * file is first renamed to `<file>.old`. A symlink, or anything but a regular
   * file, at either name is refused (PermanentError HOME_UNSAFE_PATH), and so is
   * a home that is a symlink or not the user's: nothing is ever written through
   * a path the user controls.
   */
  writePrivateFile(root: string, name: string, uidNumber: number, gidNumber: number, file: string, content: string): Promise<void>;
  ping(root: string): Promise<void>;
}
