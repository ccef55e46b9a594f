// Two receiver processes (separate `node` processes, real HTTP servers, the built dist) share one
// Redis: one uses ioredis, the other node-redis. 1,000 tasks are each delivered 3 times, the
// copies racing across both processes; every task's handler must complete exactly once.
import {
  deliverAll,
  describeAcrossProcesses,
  serviceReachable,
  startReceivers,
  summariseRuns,
} from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);
const secret = `whsec_${run}`;
const record = `test:${run}:runs`;
const common = { STORE: 'redis', PREFIX: `test:${run}:xproc:`, RECORD: record };
let redis: Redis;

/** Handler runs per task id, from the Redis hash the receivers increment. */
async function runsIn(hash: string): Promise<Map<string, number>> {
  const stored = await redis.hgetall(hash);
  return new Map(Object.entries(stored).map(([id, n]) => [id, Number(n)]));
}

describeAcrossProcesses({
  title: 'RedisStore across processes',
  label: 'redis',
  up,
  built: ['core', 'redis'],
  secret,
  receivers: [
    { ...common, CLIENT: 'ioredis', REDIS_PORT: String(PORT) },
    { ...common, CLIENT: 'node-redis', REDIS_PORT: String(PORT) },
  ],
  setup: async () => {
    redis = new Redis({ host: '127.0.0.1', port: PORT });
    return {
      runs: () => runsIn(record),
      teardown: async () => {
        const keys = await redis.keys(`test:${run}:*`);
        if (keys.length > 0) await redis.unlink(...keys);
        await redis.quit();
      },
    };
  },
  extraTests: () => {
    it('control: a MemoryStore per process lets the same tasks run in both processes', async () => {
      const control = `test:${run}:control-runs`;
      const env = { STORE: 'memory', SECRET: secret, RECORD: control, REDIS_PORT: String(PORT) };
      const memory = await startReceivers([env, env]);
      try {
        const { counts, taskIds } = await deliverAll({ urls: memory.urls, secret, tasks: 200 });
        const summary = summariseRuns(taskIds, await runsIn(control));
        console.log(
          `[control: MemoryStore per process] ${counts.tasks} tasks, ${counts.deliveries} deliveries: ` +
            `handler runs ${summary.handlerRuns}, tasks run twice or more ${summary.ranTwice.length}`,
        );
        // The test above can fail: without a shared store, most tasks run once per process.
        expect(summary.ranTwice.length).toBeGreaterThan(counts.tasks / 2);
      } finally {
        await memory.stop();
      }
    }, 60_000);
  },
});
