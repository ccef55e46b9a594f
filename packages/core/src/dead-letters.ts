import { type HeadersInput, headerOf } from './headers.js';

/**
 * Dead letters: the exact bytes and signature of every authentic delivery whose handler failed,
 * kept until a later attempt succeeds, so that a delivery the sender gave up on can be replayed
 * (`npx @ittybit-webhooks/cli dead-letters replay`). Replays are the sender's own signed bytes;
 * deduplication makes a replay of something already handled harmless.
 */

/** One kept delivery. */
export interface DeadLetter {
  /** The delivery's key (the idempotency key: the event id, else `id:status`). */
  key: string;
  /** The exact body bytes as received. */
  body: Uint8Array;
  /** The headers needed to replay it: `content-type` and `ittybit-signature` (lowercase names). */
  headers: Record<string, string>;
  topic?: string;
  eventId?: string;
  /** The task or run id. */
  id?: string;
  /** What the last failure said (the handler's error, as `Name: message`). */
  error: string;
  /** Failed attempts so far. */
  attempts: number;
  /** Unix milliseconds of the first and of the last failure. */
  firstFailedAt: number;
  lastFailedAt: number;
}

/** What the receiver hands to {@link DeadLetterSink.put} after a failed attempt. */
export type FailedDelivery = Omit<DeadLetter, 'attempts' | 'firstFailedAt' | 'lastFailedAt'> & {
  failedAt: number;
};

/**
 * Where dead letters are kept. `put` adds a failed attempt (counting attempts per key), `clear`
 * forgets a key once an attempt succeeded; `list` (newest last failure first, up to `limit`) and
 * `get` serve the CLI and dashboards.
 */
export interface DeadLetterSink {
  put(failed: FailedDelivery): Promise<void>;
  clear(key: string): Promise<void>;
  list(options?: { limit?: number }): Promise<DeadLetter[]>;
  get(key: string): Promise<DeadLetter | undefined>;
}

/** The request headers a dead letter keeps: enough to replay it, nothing else. */
export const DEAD_LETTER_HEADERS = ['content-type', 'ittybit-signature'] as const;

/** The headers of a request that a dead letter keeps. */
export function keptHeaders(headers: HeadersInput | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of DEAD_LETTER_HEADERS) {
    const value = headerOf(headers, name);
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/** Options of {@link MemoryDeadLetters}. */
export interface MemoryDeadLettersOptions {
  /** Most letters kept (default 1,000); the oldest goes first when full. */
  maxEntries?: number;
}

/** Dead letters in this process: for tests and single-process apps. */
export class MemoryDeadLetters implements DeadLetterSink {
  private readonly letters = new Map<string, DeadLetter>();
  private readonly maxEntries: number;

  constructor(options: MemoryDeadLettersOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1_000;
  }

  async put(failed: FailedDelivery): Promise<void> {
    const { failedAt, ...letter } = failed;
    const before = this.letters.get(failed.key);
    this.letters.delete(failed.key);
    this.letters.set(failed.key, {
      ...letter,
      attempts: (before?.attempts ?? 0) + 1,
      firstFailedAt: before?.firstFailedAt ?? failedAt,
      lastFailedAt: failedAt,
    });
    if (this.letters.size > this.maxEntries) {
      const oldest = this.letters.keys().next().value;
      if (oldest !== undefined) this.letters.delete(oldest);
    }
  }

  async clear(key: string): Promise<void> {
    this.letters.delete(key);
  }

  async list(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    // Map order is the order of last failure (put moves a key to the end): newest first, like
    // the Redis and PostgreSQL sinks.
    const limit = options.limit ?? 100;
    const newest: DeadLetter[] = [];
    const all = [...this.letters.values()];
    for (let i = all.length - 1; i >= 0 && newest.length < limit; i--) {
      newest.push(all[i] as DeadLetter);
    }
    return newest;
  }

  async get(key: string): Promise<DeadLetter | undefined> {
    return this.letters.get(key);
  }

  /** Number of kept letters. */
  get size(): number {
    return this.letters.size;
  }
}
