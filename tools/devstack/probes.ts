/** One-shot checks that a server answers; each resolves to true or false, never throws. */
import { connect, type Socket } from 'node:net';

const HOST = '127.0.0.1';

/** Connects, optionally writes `send`, and resolves with `check(received)` once it is decided. */
function converse(
  port: number,
  timeoutMs: number,
  send: string | null,
  check: ((received: string) => boolean | null) | null,
): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let received = '';
    const sock: Socket = connect({ host: HOST, port });
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
export function tcpAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
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
export function redisAnswers(port: number, auth?: { username: string; password: string }, timeoutMs = 1000): Promise<boolean> {
  if (!auth) return converse(port, timeoutMs, resp('PING'), (r) => (r.includes('\r\n') ? r.startsWith('+PONG') : null));
  return converse(port, timeoutMs, resp('AUTH', auth.username, auth.password) + resp('PING'), (r) => {
    const lines = r.split('\r\n');
    if (lines.length < 2) return null;
    if (lines[0] !== '+OK') return false; // -WRONGPASS: not ours, or configured otherwise
    return lines.length < 3 ? null : lines[1] === '+PONG';
  });
}

/** An SMTP server sends its 220 greeting. */
export function smtpAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
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

/** The Basic authorization header for a user and password. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
