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
  ping(root: string): Promise<void>;
}
