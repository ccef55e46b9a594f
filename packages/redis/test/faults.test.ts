// What the receiver answers when Redis is unreachable, hangs, or drops the connection: the shared
// fault suite (503 with Retry-After within the store timeout, never a hang, never a second run of
// a handler) with ioredis and node-redis clients, and CLIENT KILL from the server side.
import { once } from 'node:events';
import { describeStoreFaults, serviceReachable } from '@ittybit-webhooks/store-processes';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient } from 'redis';
import { onTestFinished } from 'vitest';
import { RedisStore } from '../src/index.js';

const PORT = 6379;
const up = await serviceReachable('Redis', PORT);
const prefix = `test:${crypto.randomUUID().slice(0, 8)}:faults:`;

/** The settings the README recommends: fail fast while disconnected, never run a stale command. */
const failFast: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
  retryStrategy: () => 50,
};

function ioredis(port: number, options: RedisOptions = {}): Redis {
  const client = new Redis({ host: '127.0.0.1', port, ...options });
  client.on('error', () => {}); // expected here: connection refused or reset
  onTestFinished(() => client.disconnect());
  return client;
}

let admin: Redis;

describeStoreFaults({
  name: 'RedisStore',
  engine: 'Redis',
  port: PORT,
  up,
  unreachable: [
    {
      title: 'answers 503 + Retry-After at once with ioredis set to fail fast',
      atOnce: true,
      store: (port) => new RedisStore({ client: ioredis(port, failFast), prefix }),
    },
    {
      title:
        'answers 503 + Retry-After within the store timeout with ioredis defaults (queued commands)',
      store: (port) => new RedisStore({ client: ioredis(port), prefix }),
    },
    {
      title: 'answers 503 + Retry-After within the store timeout with node-redis',
      store: (port) => {
        const client = createClient({
          socket: { host: '127.0.0.1', port, reconnectStrategy: () => 50 },
          disableOfflineQueue: true,
        });
        client.on('error', () => {});
        client.connect().catch(() => {});
        onTestFinished(() => client.destroy());
        return new RedisStore({ client, prefix });
      },
    },
  ],
  setup: () => {
    admin = new Redis({ host: '127.0.0.1', port: PORT });
  },
  teardown: async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.unlink(...keys);
    await admin.quit();
  },
  proxiedStore: async (port) => {
    const client = ioredis(port, failFast);
    // Without the offline queue, commands sent before the connection is ready fail at once.
    if (client.status !== 'ready') await once(client, 'ready');
    return new RedisStore({ client, prefix });
  },
  killedBy: 'CLIENT KILL of its connection',
  directStore: async () => {
    const client = ioredis(PORT);
    return {
      store: new RedisStore({ client, prefix }),
      killConnections: async () => {
        const id = await client.client('ID');
        return Number(await admin.client('KILL', 'ID', String(id)));
      },
    };
  },
});
