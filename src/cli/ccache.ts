/**
 * Which Kerberos ticket cache this process uses, and a fingerprint of its
 * contents' identity, so a session cookie kept from one ticket is not used
 * once the user ran kinit (perhaps as someone else) or kdestroy: the cookie
 * file records the fingerprint it was issued under (./session-store.ts).
 *
 * File-based caches (`FILE:`, a plain path, `DIR:`) are fingerprinted by the
 * file's inode and modification time: kinit and kdestroy change them. Other
 * cache types (KCM, KEYRING) cannot be read cheaply: their cookie is used
 * for its lifetime (the API's `session_ttl_seconds`, 10 minutes by default).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The cache name the Kerberos library will use. */
export function ccacheName(env: NodeJS.ProcessEnv): string {
  return env.KRB5CCNAME || `FILE:/tmp/krb5cc_${process.getuid?.() ?? 0}`;
}

function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.ino}:${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

/** A string that changes when the cache is re-initialized or destroyed. */
export function ccacheFingerprint(name: string): string {
  if (name.startsWith('FILE:')) return fileStamp(name.slice(5));
  if (name.startsWith('/')) return fileStamp(name);
  if (name.startsWith('DIR::')) return fileStamp(name.slice(5));
  if (name.startsWith('DIR:')) {
    // The collection's primary cache: `primary` names it (kswitch changes it).
    const dir = name.slice(4);
    let primary = 'tkt';
    try {
      primary = readFileSync(join(dir, 'primary'), 'utf8').trim() || primary;
    } catch {
      // no primary file: the library uses `tkt`
    }
    return `${primary}:${fileStamp(join(dir, primary))}`;
  }
  return 'opaque';
}
