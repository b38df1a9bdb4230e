/**
 * The SMTP adapter against the test stack's SMTP catcher, which writes each
 * message it accepts to a file and refuses recipients named `smtp-refuse*`.
 * Messages are found by their unique Message-ID.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { createMailer, type MailerOptions } from '../../src/mail';
import { announcement, welcomeMail } from '../../src/jobs/mail-templates';
import type { Mailer } from '../../src/core/ports';
import { startService, stopService, testStack } from '../helpers/stack';
import { codeOf } from '../helpers/rejection';

const info = testStack();
const suffix = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const domain = info.baseDomain;
const opts: MailerOptions = {
  host: info.smtp.host,
  port: info.smtp.port,
  secure: false,
  from: `ceod <ceod@${domain}>`,
  timeoutMs: 5000,
};
let counter = 0;
const messageId = () => `<t${suffix}.${++counter}@${domain}>`;

/** The raw message the catcher stored with this Message-ID (waits for it a little). */
async function caught(id: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    for (const f of readdirSync(info.smtp.mailDir)) {
      const text = readFileSync(join(info.smtp.mailDir, f), 'utf8');
      if (text.includes(`Message-ID: ${id}`)) return text;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message ${id} in ${info.smtp.mailDir}`);
}

function headerBlock(raw: string): string {
  return raw.split(/\r?\n\r?\n/)[0]!;
}


let mailer: Mailer;
beforeAll(() => {
  mailer = createMailer(opts);
});
afterAll(async () => {
  await mailer.close();
});

describe('SMTP adapter', () => {
  it('answers ping', async () => {
    await expect(mailer.ping()).resolves.toBeUndefined();
  });

  it('delivers the welcome mail with its Message-ID', async () => {
    const uid = `t${suffix}`;
    const msg = welcomeMail({ uid, cn: 'Test Person', domain });
    const id = messageId();
    await mailer.send({ ...msg, messageId: id });
    const raw = await caught(id);
    const headers = headerBlock(raw);
    expect(headers).toMatch(new RegExp(`^To: ${uid}@${domain}$`, 'm'));
    expect(headers).toMatch(new RegExp(`^From: ceod <ceod@${domain}>$`, 'm'));
    expect(headers).toMatch(/^Subject: Welcome to the Computer Science Club$/m);
    expect(raw).toContain(`Username:      ${uid}`);
  });

  it('delivers the announcement to several recipients', async () => {
    const id = messageId();
    const msg = announcement({ uid: `t${suffix}`, cn: 'Test Person', program: 'Math', terms: ['w2026'] });
    await mailer.send({ ...msg, to: [`staff-${suffix}@${domain}`, `exec-${suffix}@${domain}`], messageId: id });
    const headers = headerBlock(await caught(id));
    expect(headers).toContain(`staff-${suffix}@${domain}`);
    expect(headers).toContain(`exec-${suffix}@${domain}`);
    expect(headers).toMatch(new RegExp(`^Subject: New member: Test Person \\(t${suffix}\\)$`, 'm'));
  });

  it('cannot be made to add a header through the subject', async () => {
    const id = messageId();
    await mailer.send({ to: `t${suffix}@${domain}`, subject: 'hello\r\nBcc: victim@example.org', text: 'x', messageId: id });
    expect(headerBlock(await caught(id))).not.toMatch(/^Bcc:/m);
  });

  it('refuses a recipient with CR/LF or no address before talking to the server', async () => {
    for (const to of [`a@${domain}\r\nBcc: b@x.org`, 'not-an-address', []]) {
      expect(await codeOf(mailer.send({ to, subject: 's', text: 't' }))).toMatchObject({ name: 'PermanentError', code: 'INVALID_PAYLOAD' });
    }
  });

  it('reports a 550 refusal as permanent MAIL_REFUSED', async () => {
    const err = await codeOf(mailer.send({ to: `smtp-refuse-${suffix}@${domain}`, subject: 's', text: 't', messageId: messageId() }));
    expect(err).toMatchObject({ name: 'PermanentError', code: 'MAIL_REFUSED', permanent: true });
    expect(err.message).toContain('550');
  });

  it('reports a partial refusal as MAIL_REFUSED naming the refused recipient', async () => {
    const id = messageId();
    const refused = `smtp-refuse-${suffix}@${domain}`;
    const err = await codeOf(mailer.send({ to: [`ok-${suffix}@${domain}`, refused], subject: 's', text: 't', messageId: id }));
    expect(err).toMatchObject({ code: 'MAIL_REFUSED', permanent: true });
    expect(err.message).toContain(refused);
    // The accepted recipient did get it.
    expect(headerBlock(await caught(id))).toContain(`ok-${suffix}@${domain}`);
  });

  it('reports a closed port as transient MAIL_UNAVAILABLE', async () => {
    const nowhere = createMailer({ ...opts, port: 1 });
    try {
      expect(await codeOf(nowhere.send({ to: `t${suffix}@${domain}`, subject: 's', text: 't' }))).toMatchObject({
        name: 'TransientError',
        code: 'MAIL_UNAVAILABLE',
      });
      expect(await codeOf(nowhere.ping())).toMatchObject({ code: 'MAIL_UNAVAILABLE' });
    } finally {
      await nowhere.close();
    }
  });

  it('times out on a server that never greets', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = createMailer({ ...opts, port: (silent.address() as { port: number }).port, timeoutMs: 300 });
    try {
      const started = Date.now();
      expect(await codeOf(slow.send({ to: `t${suffix}@${domain}`, subject: 's', text: 't' }))).toMatchObject({ name: 'TransientError', code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await slow.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('reports a stopped server as transient, and sends again once it is back', async () => {
    const own = createMailer(opts);
    try {
      await own.send({ to: `t${suffix}@${domain}`, subject: 'before', text: 't', messageId: messageId() });
      await stopService(info, 'smtp');
      try {
        expect(await codeOf(own.send({ to: `t${suffix}@${domain}`, subject: 'during', text: 't' }))).toMatchObject({
          name: 'TransientError',
          permanent: false,
        });
      } finally {
        await startService(info, 'smtp');
      }
      const id = messageId();
      await own.send({ to: `t${suffix}@${domain}`, subject: 'after', text: 't', messageId: id });
      expect(headerBlock(await caught(id))).toMatch(/^Subject: after$/m);
    } finally {
      await own.close();
    }
  });
});
