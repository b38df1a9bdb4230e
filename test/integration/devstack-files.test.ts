/**
 * The stack's file-only upkeep, each in a scratch dir: the dev CA and the
 * localhost certificate are made once and remade only when missing, expiring
 * or no longer matching. (Integration project: ensureTls runs the real openssl.)
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackLayout } from '../../tools/devstack';
import { ensureTls } from '../../tools/devstack/tls';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'devstack-files-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('ensureTls', () => {
  it('makes the CA and the certificate once, then reuses them', async () => {
    const l = stackLayout(tmp);
    expect(await ensureTls(l)).toEqual(['CA', 'localhost certificate']);
    const before = [readFileSync(l.caCert), readFileSync(l.serverCert), readFileSync(l.serverKey)];
    expect(await ensureTls(l)).toEqual([]);
    expect([readFileSync(l.caCert), readFileSync(l.serverCert), readFileSync(l.serverKey)]).toEqual(before);
    const ca = new X509Certificate(before[0]!);
    const cert = new X509Certificate(before[1]!);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    // ~10 years and ~2 years.
    expect(Date.parse(ca.validTo) - Date.now()).toBeGreaterThan(9 * 365 * 24 * 3600 * 1000);
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(700 * 24 * 3600 * 1000);
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThan(731 * 24 * 3600 * 1000);
    for (const key of [l.caKey, l.serverKey]) expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  it('remakes only the certificate when it is missing or expires within 30 days, keeping the CA', async () => {
    const l = stackLayout(tmp);
    await ensureTls(l);
    const ca = readFileSync(l.caCert);
    rmSync(l.serverCert);
    expect(await ensureTls(l)).toEqual(['localhost certificate']);
    // A certificate valid for 10 more days only.
    execFileSync('openssl', ['req', '-x509', '-new', '-key', l.serverKey, '-subj', '/CN=localhost', '-days', '10', '-out', l.serverCert], { stdio: 'ignore' });
    expect(await ensureTls(l)).toEqual(['localhost certificate']);
    expect(readFileSync(l.caCert)).toEqual(ca);
    expect(new X509Certificate(readFileSync(l.serverCert)).verify(new X509Certificate(ca).publicKey)).toBe(true);
  });

  it('remakes both when the CA key is gone (a certificate it signed could not be renewed)', async () => {
    const l = stackLayout(tmp);
    await ensureTls(l);
    const ca = readFileSync(l.caCert);
    rmSync(l.caKey);
    expect(await ensureTls(l)).toEqual(['CA', 'localhost certificate']);
    expect(readFileSync(l.caCert)).not.toEqual(ca);
  });
});
