import { serviceReachable } from '@ittybit-webhooks/store-processes';
import { Cluster, Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisDeadLetters, RedisStore } from '../src/index.js';
import { describeDeadLetterSink } from './dead-letter-contract.js';
import { redisServerInstalled, startPrivateRedis } from './private-server.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);

describe('RedisDeadLetters without a server', () => {
  it('refuses something that is not a Redis client, and a bad maxEntries', () => {
    const eval_ = async () => 1;
    for (const client of [undefined, null, {}, { eval: eval_ }]) {
      expect(() => new RedisDeadLetters({ client: client as never })).toThrow(
        /ioredis or node-redis/,
      );
    }
    const client = { eval: eval_, evalsha: eval_ };
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RedisDeadLetters({ client, maxEntries })).toThrow(/maxEntries/);
    }
  });
});

describe.skipIf(!up)('RedisDeadLetters on a real Redis', () => {
  describeDeadLetterSink('RedisDeadLetters (ioredis)', async () => {
    const client = new Redis({ host: '127.0.0.1', port: PORT });
    return {
      sink: new RedisDeadLetters({ client, prefix: `test:${run}:dl-io:` }),
      store: new RedisStore({ client, prefix: `test:${run}:dl-io-idem:` }),
      close: async () => void (await client.quit()),
    };
  });

  describeDeadLetterSink('RedisDeadLetters (node-redis v5)', async () => {
    const client = createClient({ socket: { host: '127.0.0.1', port: PORT } });
    await client.connect();
    return {
      sink: new RedisDeadLetters({ client, prefix: `test:${run}:dl-nr:` }),
      close: async () => void (await client.quit()),
    };
  });

  describe('keys and limits', () => {
    let client: Redis;
    beforeAll(() => {
      client = new Redis({ host: '127.0.0.1', port: PORT });
    });
    afterAll(async () => void (await client.quit()));

    it('an index and one hash per letter under the prefix, in one {letters} hash slot; the body as base64', async () => {
      const prefix = `test:${run}:dl-keys:`;
      const sink = new RedisDeadLetters({ client, prefix });
      await sink.put({
        key: 'evt_k1',
        body: Uint8Array.from([0, 255, 1]),
        headers: { 'ittybit-signature': 'ff'.repeat(32) },
        error: 'Error: x',
        failedAt: 1_700_000_000_000,
      });
      expect((await client.keys(`${prefix}*`)).sort()).toEqual([
        `${prefix}{letters}`,
        `${prefix}{letters}:evt_k1`,
      ]);
      expect(await client.hget(`${prefix}{letters}:evt_k1`, 'body')).toBe('AP8B');
      expect(await client.zscore(`${prefix}{letters}`, 'evt_k1')).toBe('1700000000000');
      await sink.clear('evt_k1');
      expect(await client.keys(`${prefix}*`)).toEqual([]);
    });

    it('past maxEntries, the letters whose last failure is oldest are dropped (index and hash)', async () => {
      const prefix = `test:${run}:dl-max:`;
      const sink = new RedisDeadLetters({ client, prefix, maxEntries: 3 });
      const put = (key: string, failedAt: number) =>
        sink.put({ key, body: new Uint8Array([1]), headers: {}, error: 'E', failedAt });
      await put('a', 1_000);
      await put('b', 2_000);
      await put('c', 3_000);
      await put('a', 4_000); // a failed again: b is now the oldest
      await put('d', 5_000);
      expect((await sink.list()).map((l) => l.key)).toEqual(['d', 'a', 'c']);
      expect(await sink.get('b')).toBeUndefined();
      expect(await client.exists(`${prefix}{letters}:b`)).toBe(0);
      expect(await client.zcard(`${prefix}{letters}`)).toBe(3);
      for (const key of ['a', 'c', 'd']) await sink.clear(key);
    });

    it('after SCRIPT FLUSH (a restart, a failover) the scripts are sent again', async () => {
      const sink = new RedisDeadLetters({ client, prefix: `test:${run}:dl-flush:` });
      await sink.put({ key: 'k', body: new Uint8Array([2]), headers: {}, error: 'E', failedAt: 1 });
      await client.script('FLUSH');
      expect((await sink.list()).map((l) => l.key)).toEqual(['k']);
      await sink.clear('k');
      expect(await sink.get('k')).toBeUndefined();
    });
  });
});

describe.skipIf(!redisServerInstalled)('RedisDeadLetters on a Redis Cluster', () => {
  describeDeadLetterSink('RedisDeadLetters (ioredis Cluster)', async () => {
    const redis = await startPrivateRedis({ cluster: true });
    const client = new Cluster([{ host: '127.0.0.1', port: redis.port }]);
    return {
      sink: new RedisDeadLetters({ client }),
      store: new RedisStore({ client }),
      close: async () => {
        await client.quit();
        await redis.stop();
      },
    };
  });
});
