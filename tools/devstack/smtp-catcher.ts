/**
 * The stack's SMTP catcher, run as its own process from dist:
 *
 *   node dist-tools/devstack/smtp-catcher.js --port 27025 --dir DIR/mail [--host 127.0.0.1]
 *
 * Accepts every message (no TLS, no AUTH) and writes it, raw, as one file
 * `<ms timestamp>-<random>.eml` in the mail dir. A file appears whole (written
 * in the sibling dir `<mail dir>.tmp`, then renamed in), so whoever reads the
 * mail dir never sees half a message or a temporary file.
 * Recipients whose local part starts with `smtp-refuse` are refused with 550,
 * so tests can provoke a permanent delivery failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';

/** Starts a catcher; resolves once it listens. */
export function startCatcher(opts: { host: string; port: number; dir: string }): Promise<SMTPServer> {
  const tmpDir = `${opts.dir.replace(/\/+$/, '')}.tmp`;
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const server = new SMTPServer({
    name: 'smtp-catcher.csclub.internal',
    banner: 'ceod devstack SMTP catcher',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (/^smtp-refuse/i.test(address.address)) {
        const err = new Error(`Mailbox ${address.address} refused (catcher test address)`) as Error & { responseCode: number };
        err.responseCode = 550;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => callback(e));
      stream.on('end', () => {
        try {
          const name = `${Date.now()}-${randomBytes(6).toString('hex')}.eml`;
          const tmp = join(tmpDir, name);
          writeFileSync(tmp, Buffer.concat(chunks));
          renameSync(tmp, join(opts.dir, name));
          const rcpt = session.envelope.rcptTo.map((a) => a.address).join(',');
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          process.stdout.write(`${new Date().toISOString()} ${name} from=<${from}> to=<${rcpt}>\n`);
          callback(null, `Queued as ${name}`);
        } catch (e) {
          callback(e as Error);
        }
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      server.on('error', (e) => process.stderr.write(`smtp-catcher: ${e.message}\n`));
      resolve(server);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!values.dir || !Number.isInteger(port)) {
    process.stderr.write('usage: smtp-catcher --port N --dir MAILDIR [--host 127.0.0.1]\n');
    process.exit(2);
  }
  const server = await startCatcher({ host: values.host ?? '127.0.0.1', port, dir: values.dir });
  process.stdout.write(`smtp-catcher listening on ${values.host}:${port}, writing to ${values.dir}\n`);
  const stop = () => {
    // Stop accepting; give open sessions a moment, then leave regardless.
    setTimeout(() => process.exit(0), 2000).unref();
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`smtp-catcher: ${e.message}\n`);
    process.exit(1);
  });
}
