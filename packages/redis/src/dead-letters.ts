import {
  type DeadLetter,
  type DeadLetterSink,
  type FailedDelivery,
  WebhookError,
} from '@ittybit-webhooks/core';
import type { RedisClientLike } from './index.js';
import { type Evaluate, evaluator, script } from './scripts.js';

/** Options of {@link RedisDeadLetters}. */
export interface RedisDeadLettersOptions {
  /** A connected ioredis or node-redis client (node-redis: call `await client.connect()` first). */
  client: RedisClientLike;
  /** Prepended to every key (default `ittybit:dead:`). */
  prefix?: string;
  /**
   * Most letters kept (default 10,000). When a new one is kept past it, the letters whose last
   * failure is oldest are dropped.
   */
  maxEntries?: number;
}

// Keys: `<prefix>{letters}` is the index (a sorted set of letter keys scored by the time of their
// last failure, for listing newest first) and `<prefix>{letters}:<key>` a hash per letter. The
// `{letters}` hash tag puts the index and every letter in one Cluster slot, so a script may
// touch a letter and the index together. Every script names all the keys it touches.

/**
 * KEYS: letter, index. ARGV: key, body (base64), headers (JSON), topic, eventId, id, error,
 * failedAt (ms), maxEntries. Keeps the first failure's time, counts the attempt, replaces the
 * rest with the latest attempt's. Returns how many letters are over `maxEntries`.
 */
const PUT = script(`local first = redis.call('HGET', KEYS[1], 'first')
if not first then first = ARGV[8] end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'body', ARGV[2], 'headers', ARGV[3], 'topic', ARGV[4],
  'eventId', ARGV[5], 'id', ARGV[6], 'error', ARGV[7], 'first', first, 'last', ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1])
return redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[9])`);

/** KEYS: letter, index. ARGV: key. */
const CLEAR = script(`redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`);

/** KEYS: index. ARGV: start, stop (ranks, newest first). */
const NEWEST = script(`return redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2])`);

/** KEYS: index. ARGV: count. The keys of the `count` letters whose last failure is oldest. */
const OLDEST = script(`return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)`);

/** KEYS: letters. Every letter's fields, as HGETALL lists (empty for a letter since cleared). */
const READ = script(`local letters = {}
for i, key in ipairs(KEYS) do letters[i] = redis.call('HGETALL', key) end
return letters`);

/** KEYS: index, then letters. ARGV: the letters' keys. Drops them from both. */
const DROP = script(`for i, key in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], key)
  redis.call('DEL', KEYS[i + 1])
end
return #ARGV`);

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return String(value);
}

/** A letter from the flat `[field, value, …]` list of HGETALL; `undefined` when empty. */
function letterOf(reply: unknown): DeadLetter | undefined {
  if (!Array.isArray(reply) || reply.length === 0) return undefined;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(text(reply[i]), text(reply[i + 1]));
  const key = fields.get('key');
  if (!key) return undefined;
  let headers: Record<string, string> = {};
  try {
    headers = JSON.parse(fields.get('headers') ?? '{}') as Record<string, string>;
  } catch {
    headers = {};
  }
  const letter: DeadLetter = {
    key,
    body: Uint8Array.from(Buffer.from(fields.get('body') ?? '', 'base64')),
    headers,
    error: fields.get('error') ?? '',
    attempts: Number(fields.get('attempts') ?? 0),
    firstFailedAt: Number(fields.get('first') ?? 0),
    lastFailedAt: Number(fields.get('last') ?? 0),
  };
  const topic = fields.get('topic');
  const eventId = fields.get('eventId');
  const id = fields.get('id');
  if (topic) letter.topic = topic;
  if (eventId) letter.eventId = eventId;
  if (id) letter.id = id;
  return letter;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') {
    throw new WebhookError(
      'invalid_options',
      'RedisDeadLetters: a key must be a non-empty string.',
    );
  }
  return key;
}

/**
 * A {@link DeadLetterSink} on Redis: keeps the exact bytes (base64) and the signature of every
 * delivery whose handler failed, counts the attempts per key, and forgets a key once an attempt
 * succeeds. `put` and `clear` are one script each (one round trip); `list` is two. Works with
 * ioredis (`Redis`, `Cluster`) and node-redis v4/v5.
 *
 * ```ts
 * createReceiver({ ..., deadLetters: new RedisDeadLetters({ client: redis }) });
 * ```
 */
export class RedisDeadLetters implements DeadLetterSink {
  /** The prefix in front of every key. */
  readonly prefix: string;
  /** Most letters kept. */
  readonly maxEntries: number;
  readonly #eval: Evaluate;
  readonly #index: string;

  /** Wraps a connected client; the sink never connects, quits or configures it. */
  constructor(options: RedisDeadLettersOptions) {
    this.#eval = evaluator(options?.client, 'RedisDeadLetters');
    this.prefix = options.prefix ?? 'ittybit:dead:';
    if (typeof this.prefix !== 'string') {
      throw new WebhookError('invalid_options', 'RedisDeadLetters: `prefix` must be a string.');
    }
    const max = options.maxEntries ?? 10_000;
    if (!(Number.isInteger(max) && max > 0)) {
      throw new WebhookError(
        'invalid_options',
        `RedisDeadLetters: maxEntries must be a positive whole number; got ${String(max)}.`,
      );
    }
    this.maxEntries = max;
    this.#index = `${this.prefix}{letters}`;
  }

  #letter(key: string): string {
    return `${this.#index}:${key}`;
  }

  /** Keeps a failed attempt: the first failure's time stays, the attempt is counted. */
  async put(failed: FailedDelivery): Promise<void> {
    const key = checkKey(failed?.key);
    const body = failed.body;
    const over = Number(
      await this.#eval(
        PUT,
        [this.#letter(key), this.#index],
        [
          key,
          Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'),
          JSON.stringify(failed.headers ?? {}),
          failed.topic ?? '',
          failed.eventId ?? '',
          failed.id ?? '',
          failed.error ?? '',
          String(Math.floor(failed.failedAt)),
          String(this.maxEntries),
        ],
      ),
    );
    if (over > 0) await this.#drop(over);
  }

  /** Drops the `count` letters whose last failure is oldest. */
  async #drop(count: number): Promise<void> {
    const keys = ((await this.#eval(OLDEST, [this.#index], [String(count)])) as unknown[]).map(
      text,
    );
    if (keys.length === 0) return;
    await this.#eval(DROP, [this.#index, ...keys.map((k) => this.#letter(k))], keys);
  }

  /** Forgets `key` (its delivery has now been handled). */
  async clear(key: string): Promise<void> {
    await this.#eval(CLEAR, [this.#letter(checkKey(key)), this.#index], [key]);
  }

  /** The kept letters, the most recently failed first (default: at most 100). */
  async list(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    if (!(Number.isInteger(limit) && limit >= 0)) {
      throw new WebhookError(
        'invalid_options',
        `RedisDeadLetters: limit must be a whole number >= 0; got ${String(limit)}.`,
      );
    }
    if (limit === 0) return [];
    const keys = (
      (await this.#eval(NEWEST, [this.#index], ['0', String(limit - 1)])) as unknown[]
    ).map(text);
    if (keys.length === 0) return [];
    const replies = (await this.#eval(
      READ,
      keys.map((k) => this.#letter(k)),
      [],
    )) as unknown[];
    return replies.map(letterOf).filter((letter): letter is DeadLetter => letter !== undefined);
  }

  /** The letter kept for `key`, if any. */
  async get(key: string): Promise<DeadLetter | undefined> {
    const [reply] = (await this.#eval(READ, [this.#letter(checkKey(key))], [])) as unknown[];
    return letterOf(reply);
  }
}
