// What the receiver answers when Redis is unreachable, hangs, or drops the connection: 503 with
// Retry-After within the store timeout, never a hang, and never a second run of a handler.
import { once } from 'node:events';
import type { IdempotencyStore } from '@ittybit-webhooks/core';
import { createTestTask } from '@ittybit-webhooks/core/testing';
import {
  closedPort,
  deliverUntilOk,
  faultReceiver,
  serviceReachable,
  TcpProxy,
} from '@ittybit-webhooks/store-processes';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);
const prefix = `test:${run}:faults:`;
const TIMEOUT = 500;
/** Longest acceptable answer time when the store is down: the store timeout plus slack. */
const BOUND = TIMEOUT + 1_000;

/** The settings the README recommends: fail fast while disconnected, never run a stale command. */
const failFast: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
  retryStrategy: () => 50,
};

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function ioredis(port: number, options: RedisOptions = {}): Redis {
  const client = new Redis({ host: '127.0.0.1', port, ...options });
  client.on('error', () => {}); // expected here: connection refused or reset
  cleanup.push(() => client.disconnect());
  return client;
}

function expect503(answer: { status: number; headers: Record<string, string>; ms: number }) {
  expect(answer.status).toBe(503);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  expect(answer.ms).toBeLessThan(BOUND);
}

describe('RedisStore with Redis unreachable at a closed port', () => {
  it('answers 503 + Retry-After at once with ioredis set to fail fast', async () => {
    const faults = faultReceiver(
      new RedisStore({ client: ioredis(await closedPort(), failFast), prefix }),
      { timeoutMs: TIMEOUT },
    );
    const task = createTestTask();
    const answer = await faults.deliver(task);
    expect503(answer);
    expect(answer.ms).toBeLessThan(TIMEOUT);
    expect(faults.runs.size).toBe(0);
  });

  it('answers 503 + Retry-After within the store timeout with ioredis defaults (queued commands)', async () => {
    const faults = faultReceiver(new RedisStore({ client: ioredis(await closedPort()), prefix }), {
      timeoutMs: TIMEOUT,
    });
    const answer = await faults.deliver(createTestTask());
    expect503(answer);
    expect(faults.runs.size).toBe(0);
  });

  it('answers 503 + Retry-After within the store timeout with node-redis', async () => {
    const client = createClient({
      socket: { host: '127.0.0.1', port: await closedPort(), reconnectStrategy: () => 50 },
      disableOfflineQueue: true,
    });
    client.on('error', () => {});
    client.connect().catch(() => {});
    cleanup.push(() => client.destroy());
    const faults = faultReceiver(new RedisStore({ client, prefix }), { timeoutMs: TIMEOUT });
    const answer = await faults.deliver(createTestTask());
    expect503(answer);
    expect(faults.runs.size).toBe(0);
  });
});

describe.skipIf(!up)('RedisStore when the connection breaks mid-run', () => {
  let admin: Redis | undefined;
  afterAll(async () => {
    if (!admin) return;
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.unlink(...keys);
    await admin.quit();
  });

  async function proxied(options: RedisOptions = failFast) {
    const proxy = await TcpProxy.start(PORT);
    cleanup.push(() => proxy.close());
    const client = ioredis(proxy.port, options);
    // Without the offline queue, commands sent before the connection is ready fail at once.
    if (client.status !== 'ready') await once(client, 'ready');
    return { proxy, client, store: new RedisStore({ client, prefix }) };
  }

  it('answers 503 when the network stalls (no hang), then runs the retry once', async () => {
    const { proxy, store } = await proxied();
    // The stalled acquire reaches Redis once the network recovers, after the receiver answered
    // 503: that late claim holds the key until its lease lapses (503s meanwhile, nothing lost).
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: 1_500 });
    expect((await faults.deliver(createTestTask())).status).toBe(200);
    proxy.stall();
    const task = createTestTask();
    expect503(await faults.deliver(task));
    proxy.forward();
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('answers 503 when the connection is reset while acquire is in flight', async () => {
    const { proxy, store } = await proxied();
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT });
    proxy.stall();
    const task = createTestTask();
    const pending = faults.deliver(task);
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.refuse();
    expect503(await pending);
    expect(faults.runs.size).toBe(0);
    proxy.forward();
    // Fail-fast settings never resend the lost acquire, so nothing is left holding the key.
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('survives CLIENT KILL of its connection: 200 or 503, then exactly one run', async () => {
    admin = admin ?? new Redis({ host: '127.0.0.1', port: PORT });
    const client = ioredis(PORT);
    const faults = faultReceiver(new RedisStore({ client, prefix }), { timeoutMs: TIMEOUT });
    expect((await faults.deliver(createTestTask())).status).toBe(200);
    const id = await client.client('ID');
    await admin.client('KILL', 'ID', String(id));
    const task = createTestTask();
    const first = await faults.deliver(task);
    expect([200, 503]).toContain(first.status);
    expect(first.ms).toBeLessThan(BOUND);
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('answers 200 and logs when complete fails after the handler succeeded (connection lost)', async () => {
    const { proxy, store } = await proxied();
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT, afterRun: () => proxy.refuse() });
    const task = createTestTask();
    const answer = await faults.deliver(task);
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(BOUND);
    expect(faults.runs.get(task.id)).toBe(1);
    expect(faults.phases).toEqual(['complete']);
    expect(faults.logs.join('\n')).toMatch(/could not mark it completed/);
  });

  it('answers 200 and logs when complete throws or hangs (a failing store wrapper)', async () => {
    admin = admin ?? new Redis({ host: '127.0.0.1', port: PORT });
    const real = new RedisStore({ client: admin, prefix });
    for (const failure of [
      () => Promise.reject(new Error('READONLY You can not write against a read only replica.')),
      () => new Promise<boolean>(() => {}),
    ]) {
      const store: IdempotencyStore = {
        acquire: (...args) => real.acquire(...args),
        complete: failure,
        release: (...args) => real.release(...args),
        extend: (...args) => real.extend(...args),
      };
      const faults = faultReceiver(store, { timeoutMs: TIMEOUT });
      const task = createTestTask();
      const answer = await faults.deliver(task);
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(BOUND);
      expect(faults.runs.get(task.id)).toBe(1);
      expect(faults.phases).toEqual(['complete']);
      expect(faults.logs.join('\n')).toMatch(/could not mark it completed/);
    }
  });
});
