/**
 * Structured JSON logs (pino). Every line carries the host; job lines carry
 * the job id, step and requester. Anything that looks like a secret is
 * redacted by key, as a second line of defence: code never logs secrets.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'cookie',
  '*.cookie',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'res.headers["set-cookie"]',
  'keytab',
  // A forwarded Kerberos TGT the original client sends (X-KRB5-CRED): a credential, never logged.
  'req.headers["x-krb5-cred"]',
  'headers["x-krb5-cred"]',
  '*.headers["x-krb5-cred"]',
  '["x-krb5-cred"]',
  '*["x-krb5-cred"]',
];

/** A logger; `destination` (default stdout) lets tests read what would be written. */
export function createLogger(opts: { level?: string; host: string; process: string; destination?: pino.DestinationStream }): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { host: opts.host, proc: opts.process, pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
