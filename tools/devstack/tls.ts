/**
 * The stack's dev CA and its certificate for `localhost`, made with openssl
 * once per stack in DIR/tls and reused: a developer trusts the CA once
 * (env.sh sets CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS) and every later
 * certificate it signs verifies. Remade only when a file is missing, a
 * certificate is about to expire, or the server certificate no longer verifies
 * against the CA (someone replaced one of them).
 *
 * EC P-256 keys: quick to make, and every client and server here takes them.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { StackLayout } from './layout';
import { DevstackError } from './processes';

const run = promisify(execFile);

const CA_DAYS = 3650;
const SERVER_DAYS = 730;
/** A certificate expiring sooner than this is made again. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * What the server certificate is for: the URL host clients use (SPNEGO needs
 * `localhost`), the address servers bind, and, in the multi-host stack
 * (tools/hosts), each API host's name.
 */
export function serverNames(hostNames: readonly string[] = []): string {
  return ['DNS:localhost', 'IP:127.0.0.1', ...hostNames.map((h) => `DNS:${h}`)].join(',');
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 30000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new DevstackError(`tls: openssl ${args[0]} failed: ${(err.stderr || err.message).trim()} (is the openssl package installed?)`);
  }
}

/** The certificate in `file`, or null if it is missing, unreadable or expires within RENEW_BEFORE_MS. */
function usableCert(file: string): X509Certificate | null {
  try {
    const cert = new X509Certificate(readFileSync(file));
    return Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS ? cert : null;
  } catch {
    return null;
  }
}

async function makeCa(layout: StackLayout): Promise<void> {
  await openssl(
    [
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256',
      '-days', String(CA_DAYS),
      // The dir's hash tells two stacks' CAs apart in a trust store (a CN holds at most 64 characters).
      '-subj', `/O=ceod dev stack/CN=ceod dev CA ${createHash('sha256').update(layout.root).digest('hex').slice(0, 12)}`,
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', layout.caKey, '-out', layout.caCert,
    ],
    layout.tlsDir,
  );
  chmodSync(layout.caKey, 0o600);
}

async function makeServerCert(layout: StackLayout, hostNames: readonly string[]): Promise<void> {
  const csr = join(layout.tlsDir, 'localhost.csr');
  const ext = join(layout.tlsDir, 'localhost.ext');
  try {
    await openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/O=ceod dev stack/CN=localhost', '-keyout', layout.serverKey, '-out', csr],
      layout.tlsDir,
    );
    chmodSync(layout.serverKey, 0o600);
    writeFileSync(
      ext,
      `subjectAltName = ${serverNames(hostNames)}\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\nextendedKeyUsage = serverAuth\n`,
    );
    await openssl(
      ['x509', '-req', '-in', csr, '-CA', layout.caCert, '-CAkey', layout.caKey, '-set_serial', `0x${Date.now().toString(16)}`, '-sha256', '-days', String(SERVER_DAYS), '-extfile', ext, '-out', layout.serverCert],
      layout.tlsDir,
    );
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

/**
 * Makes what is missing or stale of the CA and the server certificate (for
 * `localhost` and `hostNames`); returns what it made (for the start log).
 */
export async function ensureTls(layout: StackLayout, hostNames: readonly string[] = []): Promise<string[]> {
  mkdirSync(layout.tlsDir, { recursive: true, mode: 0o755 });
  const made: string[] = [];
  let ca = existsSync(layout.caKey) ? usableCert(layout.caCert) : null;
  if (!ca) {
    await makeCa(layout);
    ca = new X509Certificate(readFileSync(layout.caCert));
    made.push('CA');
  }
  const server = existsSync(layout.serverKey) ? usableCert(layout.serverCert) : null;
  const covers = (cert: X509Certificate) => ['localhost', ...hostNames].every((h) => cert.checkHost(h) !== undefined);
  if (!server || made.length > 0 || !server.verify(ca.publicKey) || !covers(server)) {
    await makeServerCert(layout, hostNames);
    made.push(`server certificate for ${['localhost', ...hostNames].join(', ')}`);
  }
  // The keys stay private even if someone loosened them.
  chmodSync(layout.caKey, 0o600);
  chmodSync(layout.serverKey, 0o600);
  return made;
}
