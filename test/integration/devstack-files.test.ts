/**
 * The stack's file-only upkeep, each in a scratch dir: the dev CA and the
 * localhost certificate are made once and remade only when missing, expiring
 * or no longer matching; the trim removes old caught mails and empties big logs.
 * (Integration project: ensureTls runs the real openssl.)
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackLayout, trimStack, type StackInfo } from '../../tools/devstack';
import { ensureTls } from '../../tools/devstack/tls';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'devstack-files-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe('ensureTls', () => {
  it('makes the CA and the certificate once, then reuses them', async () => {
    const l = stackLayout(tmp);
    expect(await ensureTls(l)).toEqual(['CA', 'server certificate for localhost']);
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
    expect(await ensureTls(l)).toEqual(['server certificate for localhost']);
    // A certificate valid for 10 more days only.
    execFileSync('openssl', ['req', '-x509', '-new', '-key', l.serverKey, '-subj', '/CN=localhost', '-days', '10', '-out', l.serverCert], { stdio: 'ignore' });
    expect(await ensureTls(l)).toEqual(['server certificate for localhost']);
    expect(readFileSync(l.caCert)).toEqual(ca);
    expect(new X509Certificate(readFileSync(l.serverCert)).verify(new X509Certificate(ca).publicKey)).toBe(true);
  });

  it('remakes both when the CA key is gone (a certificate it signed could not be renewed)', async () => {
    const l = stackLayout(tmp);
    await ensureTls(l);
    const ca = readFileSync(l.caCert);
    rmSync(l.caKey);
    expect(await ensureTls(l)).toEqual(['CA', 'server certificate for localhost']);
    expect(readFileSync(l.caCert)).not.toEqual(ca);
  });
});

describe('ensureTls for the multi-host stack', () => {
  it('names each API host in the certificate, and remakes a certificate that lacks one', async () => {
    const l = stackLayout(tmp);
    await ensureTls(l);
    expect(new X509Certificate(readFileSync(l.serverCert)).checkHost('coffee.csclub.internal')).toBeUndefined();
    const hosts = ['phosphoric-acid.csclub.internal', 'coffee.csclub.internal'];
    expect(await ensureTls(l, hosts)).toEqual([`server certificate for localhost, ${hosts.join(', ')}`]);
    const cert = new X509Certificate(readFileSync(l.serverCert));
    for (const h of ['localhost', ...hosts]) expect(cert.checkHost(h)).toBe(h);
    expect(cert.checkHost('mail.csclub.internal')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(await ensureTls(l, hosts)).toEqual([]);
  });
});

describe('trimStack', () => {
  const info = (): StackInfo => ({ dir: tmp, smtp: { host: '127.0.0.1', port: 0, mailDir: join(tmp, 'mail') } }) as unknown as StackInfo;

  it('removes mails caught before the given time and keeps later ones', () => {
    const mail = join(tmp, 'mail');
    mkdirSync(mail);
    mkdirSync(`${mail}.tmp`);
    const now = Date.now();
    for (const t of [now - 86400_000, now - 1000]) writeFileSync(join(mail, `${t}-abcdef.eml`), 'old');
    writeFileSync(join(`${mail}.tmp`, `${now - 1000}-dead.eml`), 'half');
    writeFileSync(join(mail, `${now + 5}-123456.eml`), 'new');
    expect(trimStack(info(), now).mails).toBe(2);
    expect(readdirSync(mail)).toEqual([`${now + 5}-123456.eml`]);
    expect(readdirSync(`${mail}.tmp`)).toEqual([]);
  });

  it('empties logs over the limit, in place, and leaves small ones', () => {
    const logs = join(tmp, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'big.log'), 'x'.repeat(2048));
    writeFileSync(join(logs, 'small.log'), 'y'.repeat(100));
    const res = trimStack(info(), Date.now(), 1024);
    expect(res.logs).toEqual([join(logs, 'big.log')]);
    expect(readFileSync(join(logs, 'big.log'), 'utf8')).toMatch(/^--- .* emptied by the stack trim \(was 2048 bytes\)\n$/);
    expect(readFileSync(join(logs, 'small.log'), 'utf8')).toBe('y'.repeat(100));
  });
});
