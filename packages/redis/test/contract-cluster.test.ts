// The contract on a one-node Redis Cluster of the test's own, through the Cluster clients:
// ioredis `Cluster` and node-redis `createCluster` route each script by its one key.
import { describeStoreContract } from '@ittybit-webhooks/store-contract';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { describe } from 'vitest';
import { RedisStore } from '../src/index.js';
import { redisServerInstalled, startPrivateRedis } from './private-server.js';

describe.skipIf(!redisServerInstalled)('RedisStore on a Redis Cluster', () => {
  describeStoreContract(
    'RedisStore (ioredis Cluster)',
    async () => {
      const redis = await startPrivateRedis({ cluster: true });
      const client = new Cluster([{ host: '127.0.0.1', port: redis.port }]);
      return {
        store: new RedisStore({ client }),
        close: async () => {
          await client.quit();
          await redis.stop();
        },
      };
    },
    { concurrency: 32 },
  );

  describeStoreContract(
    'RedisStore (node-redis v5 cluster)',
    async () => {
      const redis = await startPrivateRedis({ cluster: true });
      const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${redis.port}` }] });
      await client.connect();
      return {
        store: new RedisStore({ client }),
        close: async () => {
          await client.quit();
          await redis.stop();
        },
      };
    },
    { concurrency: 32 },
  );
});
