import { isWebhookError } from '@ittybit-webhooks/core';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IoredisLikeClient, type NodeRedisLikeClient, RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);

function invalidOptions(error: unknown): boolean {
  return isWebhookError(error) && error.code === 'invalid_options';
}

describe('RedisStore without a server', () => {
  it('refuses something that is not a Redis client, saying what to pass', () => {
    const eval_ = async () => 1;
    for (const client of [
      undefined,
      null,
      {},
      { eval: 'no', evalsha: eval_ },
      { eval: eval_ }, // an ioredis-like client without evalsha
      { eval: eval_, evalsha: eval_, EVAL: eval_ }, // node-redis spells it evalSha
    ]) {
      expect(() => new RedisStore({ client: client as never })).toThrow(/ioredis or node-redis/);
    }
  });

  it('calls ioredis as evalsha(sha, 1, key, ...args), lease in whole milliseconds', async () => {
    const calls: unknown[][] = [];
    const client: IoredisLikeClient = {
      evalsha: async (...args) => {
        calls.push(args);
        return 1;
      },
      eval: async () => 0,
    };
    const store = new RedisStore({ client });
    expect(await store.acquire('task_1:succeeded', 'owner-1', 1000.2)).toBe('acquired');
    expect(calls[0]?.[0]).toMatch(/^[0-9a-f]{40}$/);
    expect(calls[0]?.slice(1)).toEqual([1, 'ittybit:idem:task_1:succeeded', 'owner-1', '1001']);
  });

  it('calls node-redis as evalSha(sha, { keys, arguments }), told apart by its EVAL alias', async () => {
    const calls: unknown[][] = [];
    const client: NodeRedisLikeClient = {
      evalSha: async (...args) => {
        calls.push(args);
        return 3;
      },
      eval: async () => 0,
      EVAL: () => {},
    };
    const store = new RedisStore({ client, prefix: 'p:' });
    expect(await store.acquire('k', 'o', 5)).toBe('completed');
    expect(calls[0]?.[1]).toEqual({ keys: ['p:k'], arguments: ['o', '5'] });
  });

  it('refuses a lease or TTL that is not a positive number before calling Redis', async () => {
    let called = false;
    const store = new RedisStore({
      client: {
        evalsha: async () => {
          called = true;
          return 1;
        },
        eval: async () => {
          called = true;
          return 1;
        },
      },
    });
    for (const ms of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(store.acquire('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
      await expect(store.complete('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
      await expect(store.extend('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
    }
    expect(called).toBe(false);
  });

  it('turns an unexpected reply into a store_unavailable error (a 503), not a wrong answer', async () => {
    const store = new RedisStore({ client: { evalsha: async () => 'OK', eval: async () => 'OK' } });
    await expect(store.acquire('k', 'o', 10)).rejects.toSatisfy(
      (error: unknown) => isWebhookError(error) && error.code === 'store_unavailable',
    );
  });
});

describe.skipIf(!up)('RedisStore records on a real Redis', () => {
  let redis: Redis;
  const prefix = `test:${run}:unit:`;
  beforeAll(() => {
    redis = new Redis({ host: '127.0.0.1', port: PORT });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  it('keeps state and owner in one key under the prefix, expiring by PX on Redis', async () => {
    const store = new RedisStore({ client: redis, prefix });
    expect(await store.acquire('task_a:succeeded', 'me', 30_000)).toBe('acquired');
    expect(await redis.get(`${prefix}task_a:succeeded`)).toBe('p:me');
    expect(await redis.pttl(`${prefix}task_a:succeeded`)).toBeGreaterThan(29_000);
    expect(await store.extend('task_a:succeeded', 'me', 90_000)).toBe(true);
    expect(await redis.pttl(`${prefix}task_a:succeeded`)).toBeGreaterThan(89_000);
    expect(await store.complete('task_a:succeeded', 'me', 72 * 3_600_000)).toBe(true);
    expect(await redis.get(`${prefix}task_a:succeeded`)).toBe('c:me');
    expect(await redis.pttl(`${prefix}task_a:succeeded`)).toBeGreaterThan(72 * 3_600_000 - 5_000);
    expect(await store.release('task_a:succeeded', 'me')).toBe(false);
    expect(await store.release('task_b:succeeded', 'me')).toBe(false);
    expect(await redis.exists(`${prefix}task_b:succeeded`)).toBe(0);
  });

  it('uses the default prefix ittybit:idem:', async () => {
    const store = new RedisStore({ client: redis });
    const key = `test:${run}:default`;
    expect(store.prefix).toBe('ittybit:idem:');
    await store.acquire(key, 'me', 10_000);
    expect(await redis.get(`ittybit:idem:${key}`)).toBe('p:me');
    expect(await store.release(key, 'me')).toBe(true);
    expect(await redis.exists(`ittybit:idem:${key}`)).toBe(0);
  });
});
