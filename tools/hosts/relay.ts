/**
 * The relay between the caller's namespace and the hosts, in two halves
 * joined by unix sockets in the stack dir (a file is the one thing both
 * namespaces share):
 *
 *   outside (here):        127.0.0.1:<listen>  →  DIR/run/relay/<name>.sock
 *   inside (client host):  DIR/run/relay/<name>.sock  →  <host>:<port>, by name
 *
 * So a test or a developer's tool talks to `127.0.0.1:<listen>` on loopback,
 * and the server sees a connection from the client host. Nothing else links
 * the namespaces.
 *
 *   node dist-tools/hosts/relay.js --side inside|outside --dir DIR/run/relay --targets DIR/net/relay.json
 */
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RelayTarget } from './topology';

/** Pipes two sockets both ways; either end closing closes the other. */
function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

export const socketPath = (dir: string, name: string) => join(dir, `${name}.sock`);

/** Starts one half of the relay; resolves once every listener listens. */
export async function startRelay(side: 'inside' | 'outside', dir: string, targets: RelayTarget[]): Promise<Server[]> {
  const servers = targets.map((t) => {
    const server = createServer((sock) => {
      const peer = side === 'inside' ? connect({ host: t.host, port: t.port }) : connect({ path: socketPath(dir, t.name) });
      pipeBoth(sock, peer);
    });
    server.on('error', (e) => process.stderr.write(`relay ${side} ${t.name}: ${e.message}\n`));
    return { server, t };
  });
  await Promise.all(
    servers.map(
      ({ server, t }) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          if (side === 'inside') {
            rmSync(socketPath(dir, t.name), { force: true });
            server.listen(socketPath(dir, t.name), () => resolve());
          } else {
            server.listen(t.listen, '127.0.0.1', () => resolve());
          }
        }),
    ),
  );
  return servers.map((s) => s.server);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { side: { type: 'string' }, dir: { type: 'string' }, targets: { type: 'string' } } });
  const side = values.side;
  if ((side !== 'inside' && side !== 'outside') || !values.dir || !values.targets) {
    process.stderr.write('usage: relay.js --side inside|outside --dir SOCKET_DIR --targets FILE\n');
    process.exit(2);
  }
  const targets = JSON.parse(readFileSync(values.targets, 'utf8')) as RelayTarget[];
  await startRelay(side, values.dir, targets);
  process.stdout.write(`relay ${side}: ${targets.map((t) => (side === 'inside' ? `${t.name} → ${t.host}:${t.port}` : `127.0.0.1:${t.listen} → ${t.name}`)).join(', ')}\n`);
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`relay: ${e.message}\n`);
    process.exit(1);
  });
}
