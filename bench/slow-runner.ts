/**
 * Scenario 5's job, in a process of its own (forked by bench/main.ts): a slow
 * job type of six 300 ms steps on the db role, run by an engine Runner here, so
 * that the benchmark client's thousands of sockets do not delay the steps'
 * transitions it measures. Protocol (IPC): → `{ id }` once the job is
 * submitted; ← `'go'` lets the first step run; → `{ done: true }` when the job
 * ended; then it exits.
 */
import IORedis from 'ioredis';
import { z } from 'zod';
import { loadConfig } from '../src/config/load';
import { redisServices } from '../src/compose';
import { createLogger } from '../src/core/log';
import { isFinished } from '../src/core/model/job';
import type { Adapters } from '../src/core/ports';
import { submitJob } from '../src/jobs/submit';
import type { JobType } from '../src/jobs/step';
import { Runner } from '../src/workers/runner';

async function main(): Promise<void> {
  const [configFile, redisUrl, user, password] = process.argv.slice(2);
  let go!: () => void;
  const started = new Promise<void>((r) => (go = r));
  process.on('message', (m) => m === 'go' && go());
  const slowType: JobType<{ n: number }> = {
    name: 'bench.slow',
    payload: z.object({ n: z.number() }),
    steps: Array.from({ length: 6 }, (_, i) => ({
      name: `slow${i}`,
      role: 'db' as const,
      title: () => `slow ${i}`,
      run: async () => {
        if (i === 0) await started;
        await new Promise((r) => setTimeout(r, 300));
      },
    })),
  };
  const config = loadConfig(configFile!);
  const conn = () => new IORedis(redisUrl!, { username: user, password, maxRetriesPerRequest: null });
  const redis = conn();
  const worker = conn();
  const cfg = { ...config, ceod: { ...config.ceod, step_attempts: 3, job_retention_hours: 1 } } as typeof config;
  const { store, queue, coordination } = redisServices(cfg, redis);
  const log = createLogger({ level: 'silent', host: 'bench', process: 'bench' });
  const runner = new Runner({ config, store, queue, coordination, connection: worker, adapters: {} as Adapters, log, roles: ['db'], types: new Map([[slowType.name, slowType]]) });
  await runner.start();
  const sub = await submitJob({ store, queue }, slowType, { n: 1 }, 'ctdalek');
  process.send!({ id: sub.id });
  await started;
  for (;;) {
    const r = await store.get(sub.id);
    if (!r || isFinished(r)) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await runner.stop(5000);
  await queue.close();
  redis.disconnect();
  worker.disconnect();
  process.send!({ done: true }, () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`slow-runner: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
