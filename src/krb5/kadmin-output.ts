/**
 * Reading what `kadmin -q` says. Pure functions, so the classification is unit
 * tested without a realm.
 *
 * `kadmin -q` exits 0 when the operation itself fails (exists, missing, no
 * privilege) and prints one stderr line `<op>: <message> while <doing> "<princ>"`;
 * it exits 1 only when it cannot start a session (KDC or kadmind down, bad
 * keytab). So success means: exit 0 and no stderr line but the harmless ones.
 */
import { PermanentError, TransientError, type CeoError } from '../core/errors';
import { NAME_RE } from '../core/model/names';
import type { PrincipalInfo } from '../core/model/principal';

/** stderr lines that do not mean failure. */
const HARMLESS = [/^No policy specified for .*; defaulting to no policy$/, /^WARNING: no policy specified/];

/** Known failure messages, matched against each stderr line. First match wins. */
const FAILURES: { re: RegExp; make: (line: string) => CeoError }[] = [
  { re: /Principal or policy already exists/, make: (l) => new PermanentError('KRB5_PRINCIPAL_EXISTS', l) },
  { re: /Principal does not exist/, make: (l) => new PermanentError('KRB5_NO_SUCH_PRINCIPAL', l) },
  { re: /Operation requires .* privilege/, make: (l) => new PermanentError('KRB5_NO_PRIVILEGE', l) },
  { re: /Insufficient authorization|not authorized|Operation not permitted/i, make: (l) => new PermanentError('KRB5_NO_PRIVILEGE', l) },
  // Connection-level failures (kadmin then exits 1).
  { re: /Communication failure|Cannot contact any KDC|Connection refused|Cannot resolve network address|timed out|GSS-API \(or Kerberos\) error/i, make: (l) => new TransientError('KRB5_UNAVAILABLE', l) },
  { re: /Database is locked|Server error|Resource temporarily unavailable/i, make: (l) => new TransientError('KRB5_UNAVAILABLE', l) },
  // Our own configuration is wrong: retrying will not help.
  { re: /Key table file .* not found|Keytab contains no suitable keys|Client .* not found in Kerberos database|Preauthentication failed|Password incorrect|Cannot find KDC for realm|Configuration file does not specify default realm|Improper format of Kerberos configuration file/i, make: (l) => new PermanentError('KRB5_REFUSED', l) },
  // The password or the principal was refused (policy, mismatch, bad name).
  { re: /Password is too short|Password does not contain enough character classes|Password is in the password dictionary|Password is too long|Password mismatch|Cannot read password|Malformed representation of principal|Password (may not|cannot) be reused|Password cannot be changed/i, make: (l) => new PermanentError('KRB5_REFUSED', l) },
];

/**
 * What a finished kadmin run means: null for success, or the error to throw.
 * `secrets` are scrubbed from any message, should kadmin ever echo one.
 */
export function classifyKadminResult(exitCode: number | null, stderr: string, secrets: string[] = []): CeoError | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !HARMLESS.some((re) => re.test(l)));
  const scrub = (l: string): string => secrets.filter(Boolean).reduce((s, secret) => s.split(secret).join('***'), l).slice(0, 300);
  for (const line of lines) {
    const known = FAILURES.find((f) => f.re.test(line));
    if (known) return known.make(scrub(line));
  }
  if (exitCode === 0 && lines.length === 0) return null;
  const text = lines.length ? scrub(lines.join(' | ')) : `kadmin exited with status ${exitCode}`;
  // exit 1 is "could not start a session"; anything unforeseen is retried (then rolled back).
  return new TransientError(exitCode === 1 ? 'KRB5_UNAVAILABLE' : 'UNKNOWN', text);
}

/** Parses `getprinc` output: the `Principal:` and `Attributes:` lines. Null if there is no `Principal:` line. */
export function parseGetprinc(stdout: string): PrincipalInfo | null {
  let name: string | undefined;
  let attributes: string[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    const p = /^Principal:\s*(\S+)/.exec(line);
    if (p) name = p[1];
    const a = /^Attributes:(.*)$/.exec(line);
    if (a) attributes = a[1]!.trim().split(/\s+/).filter(Boolean);
  }
  return name === undefined ? null : { name, attributes };
}

/**
 * Principal names are interpolated into a kadmin command line (`-q "addprinc NAME"`),
 * so only plain names are allowed: a uid (docs/directory.md#names), optionally with one `/instance`.
 */
export const PRINCIPAL_NAME = new RegExp(`^${NAME_RE.source.slice(1, -1)}(/[a-z0-9.-]+)?$`);

export function checkPrincipalName(name: string): void {
  if (typeof name !== 'string' || name.length > 128 || !PRINCIPAL_NAME.test(name)) {
    throw new PermanentError('INVALID_PAYLOAD', `invalid principal name ${JSON.stringify(String(name)).slice(0, 80)}`);
  }
}
