import { describeStoreContract } from '@ittybit-webhooks/store-contract';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';
import { createClient, createClientPool } from 'redis';
import { describe } from 'vitest';
import { type IoredisLikeClient, RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);
const concurrency = 32;

/** Several ioredis connections behind one `eval`, round robin: callers race over many sockets. */
function roundRobin(clients: Redis[]): IoredisLikeClient {
  let i = 0;
  return { eval: (...args) => clients[i++ % clients.length]!.eval(...args) as Promise<unknown> };
}

describe.skipIf(!up)('RedisStore on a real Redis', () => {
  describeStoreContract(
    'RedisStore (ioredis, one connection)',
    () => {
      const client = new Redis({ host: '127.0.0.1', port: PORT });
      return {
        store: new RedisStore({ client, prefix: `test:${run}:io1:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency },
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
    { concurrency },
  );

  describeStoreContract(
    'RedisStore (node-redis client)',
    async () => {
      const client = createClient({ socket: { host: '127.0.0.1', port: PORT } });
      await client.connect();
      return {
        store: new RedisStore({ client, prefix: `test:${run}:nr:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency },
  );

  describeStoreContract(
    'RedisStore (node-redis pool of 8)',
    async () => {
      const pool = createClientPool(
        { socket: { host: '127.0.0.1', port: PORT } },
        { minimum: 8, maximum: 8 },
      );
      await pool.connect();
      return {
        store: new RedisStore({ client: pool, prefix: `test:${run}:nrpool:` }),
        close: async () => void (await pool.close()),
      };
    },
    { concurrency },
  );
});
