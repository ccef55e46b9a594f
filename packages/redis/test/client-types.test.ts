// Type-level compatibility: every supported client type is accepted as `client` (checked by
// `tsc`; nothing here connects).
import { type Cluster, Redis } from 'ioredis';
import { createClient, createClientPool, createCluster } from 'redis';
import { createClient as createClientV4, type createCluster as createClusterV4 } from 'redis-v4';
import { describe, expect, it } from 'vitest';
import { type RedisClientLike, RedisStore } from '../src/index.js';

type Accepts<T> = T extends RedisClientLike ? true : false;

describe('RedisStore client types', () => {
  it('accepts ioredis Redis and Cluster, node-redis v5 client, pool and cluster, node-redis v4', () => {
    const accepted: [
      Accepts<Redis>,
      Accepts<Cluster>,
      Accepts<ReturnType<typeof createClient>>,
      Accepts<ReturnType<typeof createClientPool>>,
      Accepts<ReturnType<typeof createCluster>>,
      Accepts<ReturnType<typeof createClientV4>>,
      Accepts<ReturnType<typeof createClusterV4>>,
    ] = [true, true, true, true, true, true, true];
    expect(accepted.every(Boolean)).toBe(true);
  });

  it('tells node-redis clients from ioredis ones at run time, without connecting', () => {
    const ioredis = new Redis({ lazyConnect: true });
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    const pool = createClientPool({ url: 'redis://127.0.0.1:1' });
    expect(typeof (ioredis as unknown as { EVAL?: unknown }).EVAL).toBe('undefined');
    for (const client of [createClient(), createClientV4(), cluster, pool]) {
      expect(typeof (client as unknown as { EVAL?: unknown }).EVAL).toBe('function');
    }
    expect(() => new RedisStore({ client: cluster })).not.toThrow();
    ioredis.disconnect();
  });
});
