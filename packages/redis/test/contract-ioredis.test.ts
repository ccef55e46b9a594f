import { describeStoreContract } from '@ittybit-webhooks/store-contract';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { type IoredisLikeClient, RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);

/** Several ioredis connections behind one client, round robin: callers race over many sockets. */
function roundRobin(clients: Redis[]): IoredisLikeClient {
  let i = 0;
  const next = () => clients[i++ % clients.length]!;
  return {
    evalsha: (...args) => next().evalsha(...args) as Promise<unknown>,
    eval: (...args) => next().eval(...args) as Promise<unknown>,
  };
}

describe.skipIf(!up)('RedisStore with ioredis on a real Redis', () => {
  describeStoreContract(
    'RedisStore (ioredis, one connection)',
    () => {
      const client = new Redis({ host: '127.0.0.1', port: PORT });
      return {
        store: new RedisStore({ client, prefix: `test:${run}:io1:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency: 32 },
  );

  describeStoreContract(
    'RedisStore (ioredis, 8 connections)',
    () => {
      const clients = Array.from({ length: 8 }, () => new Redis({ host: '127.0.0.1', port: PORT }));
      return {
        store: new RedisStore({ client: roundRobin(clients), prefix: `test:${run}:io8:` }),
        close: async () => void (await Promise.all(clients.map((c) => c.quit()))),
      };
    },
    { concurrency: 32 },
  );

  describeStoreContract(
    'RedisStore (ioredis with its own keyPrefix)',
    () => {
      const client = new Redis({ host: '127.0.0.1', port: PORT, keyPrefix: `test:${run}:kp:` });
      return {
        store: new RedisStore({ client, prefix: '' }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency: 16 },
  );
});
