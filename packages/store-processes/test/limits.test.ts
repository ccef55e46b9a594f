// Fault suite, the known limits: what exactly-once does NOT cover, measured and printed, not
// asserted (docs/reliability.md, "What remains"). Redis without persistence restarted empty;
// `respond: 'immediately'` with a receiver crash (one copy per task: nothing retries what was
// acknowledged); a MemoryStore per process; a MemoryStore that evicts completed keys.
import { join } from 'node:path';
import { RedisServer } from '@ittybit-webhooks/store-processes';
import { describe, expect, it } from 'vitest';
import { plan, RUN, redisServerOrSkip, runFault, sleep, workDir } from './suite.js';

const redisServer = redisServerOrSkip();
/** Ports for its own redis-servers: the limits file 6395–6399, the Redis file 6390–6394: both run at once. */
const PORTS: [number, number] = [6395, 6399];
const dir = workDir('limits');
const env = (name: string) => ({ STORE: 'redis', PREFIX: `faults:${RUN}:${name}:` });

describe.skipIf(!redisServer)('Redis: the known limits, measured', () => {
  it('Redis without persistence, SIGKILLed and restarted empty: completed keys are forgotten', async () => {
    const redis = new RedisServer(PORTS, join(dir, 'redis-volatile'), false);
    await redis.start();
    try {
      const result = await runFault({
        order: 11,
        fault: 'redis-server without persistence SIGKILLed mid-run, restarted empty',
        store: 'Redis',
        asserted: false,
        dir,
        tasks: 200,
        plan: plan('volatile', 100, 800),
        env: {
          ...env('volatile'),
          REDIS_PORT: String(redis.port),
          LEASE_MS: '8000',
          TIMEOUT_MS: '1000',
        },
        inject: async ({ progress }) => {
          await progress(0.3);
          await redis.kill();
          await sleep(1_500);
          await redis.start();
          return 'SIGKILL at 30 %, restarted with no data';
        },
      });
      expect(result.stderr).toBe('');
    } finally {
      await redis.stop();
    }
  });

  it("respond: 'immediately' and a receiver SIGKILLed mid-handler: acknowledged work is lost", async () => {
    const redis = new RedisServer(PORTS, join(dir, 'redis-immediately'), true);
    await redis.start();
    try {
      const result = await runFault({
        order: 13,
        fault: "respond: 'immediately', receiver SIGKILLed mid-handler",
        store: 'Redis',
        asserted: false,
        dir,
        tasks: 200,
        copies: 1,
        plan: plan('immediately', 200, 1_500),
        env: {
          ...env('immediately'),
          REDIS_PORT: String(redis.port),
          LEASE_MS: '6000',
          TIMEOUT_MS: '1000',
          RESPOND: 'immediately',
        },
        inject: async ({ progress, receivers }) => {
          await progress(0.3);
          const signal = await receivers.crash(0, 1_000);
          return `${signal} at 30 %, replaced 1 s later`;
        },
      });
      const { ledger } = result;
      const afterThrow = ledger.lost.filter((key) => ledger.thrown.has(key)).length;
      result.row.evidence += `; handlers at work when it died: ${ledger.killedInFlight.join(', ')}; one copy per task; lost: ${ledger.lost.length - afterThrow} in the crash, ${afterThrow} whose handler threw after the 200`;
      expect(result.stderr).toBe('');
    } finally {
      await redis.stop();
    }
  });
});

describe('MemoryStore: the known limits, measured', () => {
  it('a MemoryStore in each of two processes: copies that land on different processes each run', async () => {
    const result = await runFault({
      order: 12,
      fault: 'a MemoryStore per process, two processes, no fault',
      store: 'MemoryStore ×2',
      asserted: false,
      dir,
      tasks: 200,
      plan: plan('memory', 100, 800),
      env: { STORE: 'memory', LEASE_MS: '8000', TIMEOUT_MS: '1000' },
    });
    expect(result.stderr).toBe('');
  });

  it('a MemoryStore of 100 keys in one process: a redelivery after its key was evicted runs again', async () => {
    const result = await runFault({
      order: 14,
      fault: 'MemoryStore({ maxEntries: 100 }), one process, no fault',
      store: 'MemoryStore',
      asserted: false,
      dir,
      tasks: 200,
      processes: 1,
      plan: plan('eviction', 20, 250),
      env: { STORE: 'memory', MAX_ENTRIES: '100', LEASE_MS: '8000', TIMEOUT_MS: '1000' },
    });
    expect(result.stderr).toBe('');
  });
});
