/** One-shot checks that a server answers; each resolves to true or false, never throws. */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';

const HOST = '127.0.0.1';

/** Where to probe: a port on 127.0.0.1, or a host and port. */
export type ProbeTarget = number | { host: string; port: number };

/** Connects, optionally writes `send`, and resolves with `check(received)` once it is decided. */
function converse(
  at: ProbeTarget,
  timeoutMs: number,
  send: string | null,
  check: ((received: string) => boolean | null) | null,
): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let received = '';
    const sock: Socket = connect(typeof at === 'number' ? { host: HOST, port: at } : at);
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
    sock.on('connect', () => {
      if (!check) return finish(true);
      if (send !== null) sock.write(send, 'latin1');
    });
    sock.on('data', (chunk) => {
      if (!check) return;
      received += chunk.toString('latin1');
      const verdict = check(received);
      if (verdict !== null) finish(verdict);
    });
  });
}

/** The port accepts a TCP connection. */
export function tcpAnswers(port: ProbeTarget, timeoutMs = 1000): Promise<boolean> {
  return converse(port, timeoutMs, null, null);
}

/** A command in the RESP protocol (safe for any argument, unlike an inline command). */
function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Redis accepts `auth` and answers PING with PONG (not -LOADING while it
 * replays its AOF). Without `auth`, PING as the default user (a Redis with no ACL).
 */
export function redisAnswers(port: ProbeTarget, auth?: { username: string; password: string }, timeoutMs = 1000): Promise<boolean> {
  if (!auth) return converse(port, timeoutMs, resp('PING'), (r) => (r.includes('\r\n') ? r.startsWith('+PONG') : null));
  return converse(port, timeoutMs, resp('AUTH', auth.username, auth.password) + resp('PING'), (r) => {
    const lines = r.split('\r\n');
    if (lines.length < 2) return null;
    if (lines[0] !== '+OK') return false; // -WRONGPASS: not ours, or configured otherwise
    return lines.length < 3 ? null : lines[1] === '+PONG';
  });
}

/**
 * MariaDB greets a new connection only once startup, including InnoDB
 * recovery, is over: with its handshake (protocol version 10), or with an
 * error packet (0xff) such as 1130 "host not allowed" while no account
 * matches 127.0.0.1 yet (before the admin user is made). Either is an answer.
 */
export function mysqlAnswers(port: ProbeTarget, timeoutMs = 1000): Promise<boolean> {
  return converse(port, timeoutMs, null, (r) => (r.length < 5 ? null : r.charCodeAt(4) === 0x0a || r.charCodeAt(4) === 0xff));
}

/**
 * PostgreSQL asks for authentication (message 'R') in reply to a startup
 * message; while it starts up or recovers it replies with an error ('E',
 * "the database system is starting up"). The connection is then dropped
 * before authenticating, which the server does not log.
 */
export function postgresAnswers(port: ProbeTarget, user: string, timeoutMs = 1000): Promise<boolean> {
  const params = Buffer.from(`user\0${user}\0database\0postgres\0\0`, 'latin1');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  const startup = Buffer.concat([head, params]).toString('latin1');
  return converse(port, timeoutMs, startup, (r) => (r.length < 1 ? null : r[0] === 'R'));
}

/** An SMTP server sends its 220 greeting. */
export function smtpAnswers(port: ProbeTarget, timeoutMs = 1000): Promise<boolean> {
  return converse(port, timeoutMs, null, (r) => (r.includes('\r\n') ? r.startsWith('220') : null));
}

/** GET `url` answers 200. */
export async function httpAnswers(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Whether `url` (https) answers 200, trusting the certificate authority in `caFile`. */
export function httpsAnswers(url: string, caFile: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    let ca: Buffer;
    try {
      ca = readFileSync(caFile);
    } catch {
      resolve(false);
      return;
    }
    const req = httpsRequest(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The Basic authorization header for a user and password. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
