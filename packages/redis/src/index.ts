/**
 * An idempotency store on Redis, for receivers that run as several processes or instances.
 *
 * ```ts
 * import Redis from 'ioredis';
 * import { RedisStore } from '@ittybit-webhooks/redis';
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL) });
 * createReceiver({ secret, onSucceeded, onFailed, idempotency: { store } });
 * ```
 */
import { type AcquireResult, type IdempotencyStore, WebhookError } from '@ittybit-webhooks/core';
import { type Evaluate, evaluator, script } from './scripts.js';

/** The part of an ioredis client (`Redis` or `Cluster`) this store uses. */
export interface IoredisLikeClient {
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/** The part of a node-redis v4/v5 client, pool or cluster this store uses. */
export interface NodeRedisLikeClient {
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** node-redis also defines every command in upper case; this is how it is told from ioredis. */
  EVAL: unknown;
}

/** A Redis client this store can use: ioredis, or node-redis v4/v5. */
export type RedisClientLike = IoredisLikeClient | NodeRedisLikeClient;

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected ioredis or node-redis client (node-redis: call `await client.connect()` first). */
  client: RedisClientLike;
  /** Prepended to every idempotency key (default `ittybit:idem:`). */
  prefix?: string;
}

// The value of a key is `<state>:<owner>`: `p` in progress, `c` completed. Expiry is the key's own
// PX, so it runs on Redis' clock, and a lapsed lease is simply an absent key. Every script
// touches exactly one key (KEYS[1]): Cluster-safe. Scripts answer integers so replies read the
// same on RESP2, RESP3 and any type mapping. They are sent by SHA (EVALSHA); a server that does not
// have one cached (restarted, failed over, SCRIPT FLUSH) answers NOSCRIPT and gets it once by EVAL.

/** ARGV: owner, leaseMs. Returns 1 acquired, 2 in progress, 3 completed. */
const ACQUIRE = script(`local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
if string.sub(v, 1, 2) == 'c:' then return 3 end
return 2`);

/**
 * ARGV: owner, ttlMs. Completes the owner's claim, or an absent key: a lease that lapsed leaves
 * no key, and nobody claimed it since. Answers 1 again, leaving the expiry, when the owner
 * already completed it (a retried complete); 0 when another owner holds or completed the key.
 */
const COMPLETE = script(`local v = redis.call('GET', KEYS[1])
if not v or v == 'p:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'c:' .. ARGV[1] then return 1 end
return 0`);

/** ARGV: owner. */
const RELEASE = script(`if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`);

/** ARGV: owner, leaseMs. */
const EXTEND = script(`if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`);

function milliseconds(name: string, value: number): string {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new WebhookError(
      'invalid_options',
      `RedisStore: ${name} must be a positive number of milliseconds; got ${String(value)}.`,
    );
  }
  return String(Math.ceil(value));
}

function flag(reply: unknown): boolean {
  return Number(reply) === 1;
}

/**
 * {@link IdempotencyStore} on Redis: one atomic Lua script per operation, each on a single key, with
 * expiry set by `PX` on Redis' clock, sent by SHA: one round trip per operation (two once after the
 * server lost its script cache). Works with ioredis (`Redis`, `Cluster`) and node-redis v4/v5
 * (client, pool, cluster).
 */
export class RedisStore implements IdempotencyStore {
  /** The prefix in front of every key. */
  readonly prefix: string;
  readonly #eval: Evaluate;

  /** Wraps a connected client; the store never connects, quits or configures it. */
  constructor(options: RedisStoreOptions) {
    this.#eval = evaluator(options?.client, 'RedisStore');
    this.prefix = options.prefix ?? 'ittybit:idem:';
    if (typeof this.prefix !== 'string') {
      throw new WebhookError('invalid_options', 'RedisStore: `prefix` must be a string.');
    }
  }

  /** Claims `key` for `owner` for `leaseMs` if it is absent or its lease has lapsed. */
  async acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const reply = Number(
      await this.#eval(ACQUIRE, [this.prefix + key], [owner, milliseconds('leaseMs', leaseMs)]),
    );
    if (reply === 1) return 'acquired';
    if (reply === 2) return 'in_progress';
    if (reply === 3) return 'completed';
    throw new WebhookError('store_unavailable', `RedisStore: unexpected reply to acquire.`);
  }

  /**
   * Marks `key` completed and keeps it `ttlMs` if `owner` holds it, or if its lease lapsed and
   * nobody claimed the key since. `true` again for the owner that already completed it; `false`
   * when another owner holds or completed the key.
   */
  async complete(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return flag(
      await this.#eval(COMPLETE, [this.prefix + key], [owner, milliseconds('ttlMs', ttlMs)]),
    );
  }

  /** Deletes `key` if `owner` holds it in progress; never deletes a completed key. */
  async release(key: string, owner: string): Promise<boolean> {
    return flag(await this.#eval(RELEASE, [this.prefix + key], [owner]));
  }

  /** Renews `owner`'s lease to `leaseMs` from now; `false` when the lease was lost. */
  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    return flag(
      await this.#eval(EXTEND, [this.prefix + key], [owner, milliseconds('leaseMs', leaseMs)]),
    );
  }
}

export { RedisDeadLetters, type RedisDeadLettersOptions } from './dead-letters.js';
