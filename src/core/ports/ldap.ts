/**
 * The directory port: People, Group and sudo-role entries (docs/directory.md).
 * The adapter (`src/ldap`) escapes every value and classifies every server
 * answer as a PermanentError or TransientError with a stable code.
 */
import type { GroupEntry, GroupMemberChange, NewGroup, SudoRole } from '../model/group';
import type { NewUser, UserChange, UserEntry } from '../model/user';

export interface Ldap {
  getUser(uid: string): Promise<UserEntry | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addUser(user: NewUser): Promise<void>;
  /** Returns false if there was nothing to delete. */
  deleteUser(uid: string): Promise<boolean>;
  /** Applies `changes` in one atomic modify. No such user: PermanentError LDAP_NO_SUCH_OBJECT. */
  modifyUser(uid: string, changes: UserChange[]): Promise<void>;
  /** Every People entry with the `member` class, optionally only those holding `term` (as a term or non-member term). */
  listMembers(opts?: { term?: string }): Promise<UserEntry[]>;
  getGroup(cn: string): Promise<GroupEntry | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addGroup(group: NewGroup): Promise<void>;
  deleteGroup(cn: string): Promise<boolean>;
  /**
   * Adds, removes or replaces `uniqueMember`s. Adding a member already there and
   * removing one absent are no error. No such group: PermanentError LDAP_NO_SUCH_OBJECT.
   */
  changeGroupMembers(cn: string, change: GroupMemberChange): Promise<void>;
  /** Every group whose cn or description holds `text` (unordered; the caller ranks). */
  searchGroups(text: string): Promise<GroupEntry[]>;
  /** The People entries of exactly these uids (those that exist), in one search. */
  getUsers(uids: string[]): Promise<UserEntry[]>;
  /** Every People entry holding at least one `position`. */
  positionHolders(): Promise<UserEntry[]>;
  getSudoRole(group: string): Promise<SudoRole | null>;
  /** Throws PermanentError LDAP_ALREADY_EXISTS if the entry exists. */
  addSudoRole(role: SudoRole): Promise<void>;
  deleteSudoRole(group: string): Promise<boolean>;
  /** cn of every group listing the user as `uniqueMember`. */
  groupsOf(uid: string): Promise<string[]>;
  /** Every uidNumber and gidNumber in [min, max], from users and groups alike. */
  usedIds(min: number, max: number): Promise<Set<number>>;
  /** Whether any user or group has this name. */
  nameTaken(name: string): Promise<boolean>;
  /** Cheap round trip, for start-up and health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
