/**
 * The `ceo` client's wall time (`npm run bench -- --only cli`): `ceo members
 * get regular1` from process start to exit, with a warm ticket and session
 * cookie, against `curl --negotiate -u : --service-name ceod` for the same
 * request (a SPNEGO handshake each time: curl keeps no session), in the same
 * run, alternating, RUNS of each. Also what a run costs: Node starting and
 * exiting (`node -e 0`), ceo without the network (`ceo --version`), and ceo
 * negotiating (no kept cookie), each with the machine's environment and
 * without NODE_EXTRA_CA_CERTS (Node 20 reads that file at start-up).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackInfo } from '../tools/devstack';
import { REPO_ROOT } from '../tools/devstack/layout';
import { median, percentile } from './http';

const CEO = join(REPO_ROOT, 'dist/cli/main.js');

export interface CliBenchResult {
  runs: number;
  ceo_p50_ms: number;
  ceo_p90_ms: number;
  curl_p50_ms: number;
  curl_p90_ms: number;
  ratio_p50: number;
  node_empty_p50_ms: number;
  ceo_version_p50_ms: number;
  ceo_handshake_p50_ms: number;
  /** The machine's 1-minute load average before and after (it is shared: wall times grow with it). */
  load_avg: [number, number];
  /** The same three without NODE_EXTRA_CA_CERTS, when the environment sets it. */
  without_extra_ca?: { node_empty_p50_ms: number; ceo_version_p50_ms: number; ceo_p50_ms: number; ratio_p50: number };
}

/** Wall time of one process, spawn to exit, in ms; throws unless it exits 0. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code} ${err}`))));
  });
}

export async function benchCli(info: StackInfo, url: string, runs: number, say: (s: string) => void): Promise<CliBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ceo-bench-'));
  try {
    // Both trust the stack's CA as a user's would: ceo through its ceo.ini, curl through CURL_CA_BUNDLE.
    mkdirSync(join(dir, '.config', 'ceo'), { recursive: true });
    writeFileSync(join(dir, '.config', 'ceo', 'ceo.ini'), `[ceod]\nca_file = ${info.tls.caFile}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KRB5_CONFIG: info.krb5.config,
      KRB5CCNAME: `FILE:${join(dir, 'cc')}`,
      HOME: dir,
      XDG_CACHE_HOME: join(dir, 'cache'),
      CEOD_URL: url,
      CURL_CA_BUNDLE: info.tls.caFile,
    };
    delete env.KRB5_CLIENT_KTNAME;
    delete env.XDG_CONFIG_HOME;
    await new Promise<void>((resolve, reject) => {
      const c = execFile('kinit', ['ctdalek'], { env }, (e, _o, stderr) => (e ? reject(new Error(stderr)) : resolve()));
      c.stdin!.end(`${info.users.ctdalek.password}\n`);
    });
    const path = `${url}/api/members/regular1`;
    const ceo = (e: NodeJS.ProcessEnv) => timed(process.execPath, [CEO, 'members', 'get', 'regular1'], e);
    const curl = (e: NodeJS.ProcessEnv) => timed('curl', ['-sS', '-f', '-o', '/dev/null', '--negotiate', '-u', ':', '--service-name', 'ceod', path], e);
    const noCookie = (e: NodeJS.ProcessEnv, i: number) => ({ ...e, XDG_CACHE_HOME: join(dir, `fresh-${i}`) });
    // Warm: the service ticket in the cache, the session cookie kept, the files in the page cache.
    for (let i = 0; i < 3; i++) {
      await ceo(env);
      await curl(env);
    }
    const t = { ceo: [] as number[], curl: [] as number[], node: [] as number[], version: [] as number[], handshake: [] as number[] };
    const bare = { ...env };
    delete bare.NODE_EXTRA_CA_CERTS;
    const tb = { ceo: [] as number[], curl: [] as number[], node: [] as number[], version: [] as number[] };
    const extra = Boolean(process.env.NODE_EXTRA_CA_CERTS);
    const load0 = loadavg()[0]!;
    say(`cli: ${runs} runs each, alternating: ceo members get, curl --negotiate, node -e 0, ceo --version, ceo with a handshake${extra ? '; and the first three without NODE_EXTRA_CA_CERTS' : ''}`);
    for (let i = 0; i < runs; i++) {
      t.ceo.push(await ceo(env));
      t.curl.push(await curl(env));
      t.node.push(await timed(process.execPath, ['-e', '0'], env));
      t.version.push(await timed(process.execPath, [CEO, '--version'], env));
      t.handshake.push(await ceo(noCookie(env, i)));
      if (extra) {
        tb.ceo.push(await ceo(bare));
        tb.curl.push(await curl(bare));
        tb.node.push(await timed(process.execPath, ['-e', '0'], bare));
        tb.version.push(await timed(process.execPath, [CEO, '--version'], bare));
      }
    }
    const r = (x: number) => Math.round(x * 10) / 10;
    const out: CliBenchResult = {
      runs,
      ceo_p50_ms: r(median(t.ceo)),
      ceo_p90_ms: r(percentile(t.ceo, 90)),
      curl_p50_ms: r(median(t.curl)),
      curl_p90_ms: r(percentile(t.curl, 90)),
      ratio_p50: Math.round((median(t.ceo) / median(t.curl)) * 100) / 100,
      node_empty_p50_ms: r(median(t.node)),
      ceo_version_p50_ms: r(median(t.version)),
      ceo_handshake_p50_ms: r(median(t.handshake)),
      load_avg: [r(load0), r(loadavg()[0]!)],
    };
    if (extra) {
      out.without_extra_ca = {
        node_empty_p50_ms: r(median(tb.node)),
        ceo_version_p50_ms: r(median(tb.version)),
        ceo_p50_ms: r(median(tb.ceo)),
        ratio_p50: Math.round((median(tb.ceo) / median(tb.curl)) * 100) / 100,
      };
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
