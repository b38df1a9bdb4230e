/**
 * The one rule for the names of accounts and groups (docs/directory.md#names),
 * and what derives from a name: the member's mail address, the uid of a
 * Kerberos principal.
 *
 * A name ends up in LDAP DNs and filters, kadmin command lines, paths under
 * the home root, Mailman REST paths and SQL identifiers. Every adapter escapes as well, but
 * slapd compares `uid` and `cn` case-insensitively with insignificant spaces
 * (`uid=Alice\ ` *is* `uid=alice` to it), so only canonical names are ever
 * written, read back or deleted.
 */

/**
 * A uid or group name: Debian adduser's default rule (`^[a-z][-a-z0-9_]*$`),
 * at most 32 characters: a lower-case letter, then lower-case letters, digits,
 * `-` and `_` (`test_1`). `_` is plain in a DN, a filter, a principal, a path
 * and an address; in a MySQL GRANT it is a wildcard, which the adapter escapes.
 */
export const NAME_RE = /^[a-z][-a-z0-9_]{0,31}$/;

/** Human-readable form of the rule, for error messages. */
export const NAME_RULE = 'must start with a lowercase letter and hold only a-z, 0-9, - and _ (at most 32 characters)';

export function isName(s: unknown): s is string {
  return typeof s === 'string' && NAME_RE.test(s);
}

/** Names no account may take: system accounts, mail aliases, and the like. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'root', 'admin', 'administrator', 'postmaster', 'hostmaster', 'webmaster', 'abuse', 'security', 'noc',
  'mailer-daemon', 'nobody', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp',
  'proxy', 'www-data', 'backup', 'list', 'irc', 'gnats', 'operator', 'staff', 'users', 'wheel', 'sudo',
  'syscom', 'office', 'exec', 'ceod', 'ceo', 'ldap', 'kerberos', 'krbtgt', 'kadmin', 'host', 'http',
  'ftp', 'sshd', 'systemd-network', 'messagebus', 'info', 'support', 'help', 'test',
]);

/** A member's club mail address, `<uid>@<base domain>`: lists subscribe it, mail goes to it. */
export function memberAddress(uid: string, baseDomain: string): string {
  return `${uid}@${baseDomain}`;
}

/**
 * `uid@REALM` → `uid` when the realm is ours and the principal has no instance;
 * service principals (`ceod/admin`) and foreign realms map to nothing.
 */
export function principalToUid(principal: string, realm: string): string | null {
  const at = principal.lastIndexOf('@');
  if (at < 0 || principal.slice(at + 1) !== realm) return null;
  const name = principal.slice(0, at);
  return isName(name) ? name : null;
}
