/**
 * The `Mailer` adapter: outgoing SMTP through a small nodemailer connection
 * pool, with connection, greeting and socket timeouts and an overall deadline
 * per message.
 */
import { createTransport } from 'nodemailer';
import { PermanentError, withTimeout } from '../core/errors';
import type { MailMessage } from '../core/model/mail';
import type { Mailer } from '../core/ports';
import { classifySmtpError } from './classify';

export interface MailerOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Envelope and header sender, e.g. `ceod <ceod@csclub.internal>`. */
  from: string;
  timeoutMs: number;
  /** Pooled SMTP connections. Default 2. */
  maxConnections?: number;
}

/** Header-safe recipients: no CR/LF, nothing that is not an address. */
function recipients(to: string | string[]): string[] {
  const list = Array.isArray(to) ? to : [to];
  if (list.length === 0) throw new PermanentError('INVALID_PAYLOAD', 'mail has no recipient');
  for (const r of list) {
    if (typeof r !== 'string' || /[\r\n\0]/.test(r) || !/^[^\s@<>,;]+@[^\s@<>,;]+$/.test(r)) {
      throw new PermanentError('INVALID_PAYLOAD', `invalid recipient ${JSON.stringify(String(r)).slice(0, 80)}`);
    }
  }
  return list;
}

export function createMailer(opts: MailerOptions): Mailer {
  const transport = createTransport({
    pool: true,
    host: opts.host,
    port: opts.port,
    secure: opts.secure,
    maxConnections: opts.maxConnections ?? 2,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    dnsTimeout: opts.timeoutMs,
  });

  return {
    async send(msg: MailMessage): Promise<void> {
      const to = recipients(msg.to);
      const what = `send "${msg.subject.slice(0, 60)}" to ${to.join(', ')}`;
      let info;
      try {
        info = await withTimeout(what, opts.timeoutMs, () =>
          transport.sendMail({
            from: opts.from,
            to,
            subject: msg.subject,
            text: msg.text,
            ...(msg.messageId ? { messageId: msg.messageId } : {}),
          }),
        );
      } catch (e) {
        throw classifySmtpError(e, what);
      }
      // Some recipients accepted, some refused: the refused ones will not get it by retrying.
      const rejected = ((info.rejected ?? []) as unknown[]).map((r) => (typeof r === 'string' ? r : String((r as { address?: unknown }).address)));
      if (rejected.length) throw new PermanentError('MAIL_REFUSED', `${what}: refused for ${rejected.join(', ')}`);
    },

    async ping(): Promise<void> {
      try {
        await withTimeout('SMTP verify', opts.timeoutMs, () => transport.verify());
      } catch (e) {
        throw classifySmtpError(e, `connect to ${opts.host}:${opts.port}`);
      }
    },

    async close(): Promise<void> {
      transport.close();
    },
  };
}
