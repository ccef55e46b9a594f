import { describeStoreContract } from '@ittybit-webhooks/store-contract';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import { createClient, createClientPool } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';
import { describe } from 'vitest';
import { RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const run = crypto.randomUUID().slice(0, 8);
const socket = { host: '127.0.0.1', port: PORT };

describe.skipIf(!up)('RedisStore with node-redis on a real Redis', () => {
  describeStoreContract(
    'RedisStore (node-redis v5 client)',
    async () => {
      const client = createClient({ socket });
      await client.connect();
      return {
        store: new RedisStore({ client, prefix: `test:${run}:nr:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency: 32 },
  );

  describeStoreContract(
    'RedisStore (node-redis v5 pool of 8 connections)',
    async () => {
      const pool = createClientPool({ socket }, { minimum: 8, maximum: 8 });
      await pool.connect();
      return {
        store: new RedisStore({ client: pool, prefix: `test:${run}:nrpool:` }),
        close: async () => void (await pool.close()),
      };
    },
    { concurrency: 32 },
  );

  describeStoreContract(
    'RedisStore (node-redis v5 client, RESP3)',
    async () => {
      const client = createClient({ socket, RESP: 3 });
      await client.connect();
      return {
        store: new RedisStore({ client, prefix: `test:${run}:nr3:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency: 16 },
  );

  describeStoreContract(
    'RedisStore (node-redis v4 client)',
    async () => {
      const client = createClientV4({ socket });
      await client.connect();
      return {
        store: new RedisStore({ client, prefix: `test:${run}:nr4:` }),
        close: async () => void (await client.quit()),
      };
    },
    { concurrency: 32 },
  );
});
