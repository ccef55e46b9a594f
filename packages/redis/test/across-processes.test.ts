// Two receiver processes (separate `node` processes, real HTTP servers, the built dist) share one
// Redis: one uses ioredis, the other node-redis. 1,000 tasks are each delivered 3 times, the
// copies racing across both processes; every task's handler must complete exactly once.
import {
  assertBuilt,
  deliverAll,
  type Receivers,
  serviceReachable,
  startReceivers,
  summariseRuns,
} from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);
const prefix = `test:${run}:xproc:`;
const record = `test:${run}:runs`;
const secret = `whsec_${run}`;

describe.skipIf(!up)('RedisStore across processes', () => {
  let receivers: Receivers | undefined;
  let redis: Redis;

  beforeAll(async () => {
    assertBuilt(['core', 'redis']);
    redis = new Redis({ host: '127.0.0.1', port: PORT });
    const common = { STORE: 'redis', SECRET: secret, PREFIX: prefix, RECORD: record };
    receivers = await startReceivers([
      { ...common, CLIENT: 'ioredis', REDIS_PORT: String(PORT) },
      { ...common, CLIENT: 'node-redis', REDIS_PORT: String(PORT) },
    ]);
  });

  afterAll(async () => {
    await receivers?.stop();
    if (redis) {
      const keys = await redis.keys(`test:${run}:*`);
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
    }
  });

  it('runs every one of 1,000 tasks exactly once, each delivered 3 times to 2 processes', async () => {
    const { counts, taskIds } = await deliverAll({ urls: receivers!.urls, secret });
    const stored = await redis.hgetall(record);
    const runs = new Map(Object.entries(stored).map(([id, n]) => [id, Number(n)]));
    const summary = summariseRuns(taskIds, runs);
    console.log(
      `[redis, 2 processes] deliveries ${counts.deliveries}, requests ${counts.requests}, ` +
        `200s ${counts.ok} (duplicates ${counts.duplicates}), 503s ${counts.unavailable}, ` +
        `other ${counts.other}, undelivered ${counts.undelivered}; handler runs ${summary.handlerRuns} ` +
        `for ${counts.tasks} tasks, exactly once ${summary.exactlyOnce}, twice or more ` +
        `${summary.ranTwice.length}, never ${summary.neverRan.length}; ${counts.ms} ms`,
    );
    expect(receivers!.stderr()).toBe('');
    expect(counts.undelivered).toBe(0);
    expect(counts.other).toBe(0);
    expect(counts.ok).toBe(counts.deliveries);
    expect(summary.ranTwice).toEqual([]);
    expect(summary.neverRan).toEqual([]);
    expect(summary.handlerRuns).toBe(counts.tasks);
    expect(counts.duplicates).toBe(counts.deliveries - counts.tasks);
  }, 60_000);

  it('control: a MemoryStore per process lets the same tasks run in both processes', async () => {
    const control = `test:${run}:control-runs`;
    const common = { STORE: 'memory', SECRET: secret, RECORD: control, REDIS_PORT: String(PORT) };
    const memory = await startReceivers([common, common]);
    try {
      const { counts, taskIds } = await deliverAll({ urls: memory.urls, secret, tasks: 200 });
      const stored = await redis.hgetall(control);
      const runs = new Map(Object.entries(stored).map(([id, n]) => [id, Number(n)]));
      const summary = summariseRuns(taskIds, runs);
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
});
