/**
 * The IdempotencyStore contract, written once: the memory, Redis and PostgreSQL stores all run
 * it unchanged against the real engine.
 *
 * ```ts
 * describeStoreContract('RedisStore (ioredis)', async () => ({ store, close }));
 * ```
 */
import type { IdempotencyStore } from '@ittybit-webhooks/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface StoreUnderTest {
  store: IdempotencyStore;
  /** Called once after the suite (close clients, pools). */
  close?: () => Promise<void> | void;
}

export interface StoreContractOptions {
  /** Concurrent callers racing for one key (default 32; at least 16 is required of every store). */
  concurrency?: number;
  /** Lease and TTL used by the expiry tests, in ms (default 250). Waits are twice this. */
  shortMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers the contract tests for one store. `setup` runs once before them. */
export function describeStoreContract(
  name: string,
  setup: () => Promise<StoreUnderTest> | StoreUnderTest,
  options: StoreContractOptions = {},
): void {
  const concurrency = options.concurrency ?? 32;
  const short = options.shortMs ?? 250;
  const long = 60_000;
  const run = crypto.randomUUID().slice(0, 8);
  let n = 0;
  const freshKey = () => `contract:${run}:${++n}:task_${crypto.randomUUID()}:succeeded`;
  const owner = () => crypto.randomUUID();

  describe(`IdempotencyStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: IdempotencyStore;
    beforeAll(async () => {
      subject = await setup();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.close?.();
    });

    it('acquires a free key once; a second owner finds it in progress', async () => {
      const key = freshKey();
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
      expect(await store.acquire(key, owner(), long)).toBe('in_progress');
    });

    it(`lets exactly one of ${concurrency} concurrent callers win a free key`, async () => {
      const key = freshKey();
      const results = await Promise.all(
        Array.from({ length: concurrency }, () => store.acquire(key, owner(), long)),
      );
      expect(results.filter((r) => r === 'acquired')).toHaveLength(1);
      expect(results.filter((r) => r === 'in_progress')).toHaveLength(concurrency - 1);
    });

    it('runs each of many keys exactly once under concurrent duplicate deliveries', async () => {
      const keys = Array.from({ length: 20 }, freshKey);
      const wins = new Map<string, number>();
      await Promise.all(
        keys.flatMap((key) =>
          Array.from({ length: 5 }, async () => {
            const me = owner();
            if ((await store.acquire(key, me, long)) !== 'acquired') return;
            wins.set(key, (wins.get(key) ?? 0) + 1);
            expect(await store.complete(key, me, long)).toBe(true);
          }),
        ),
      );
      expect([...wins.values()]).toEqual(keys.map(() => 1));
      for (const key of keys) expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it('reports a completed key as completed to every later caller', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, long);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      expect(await store.acquire(key, me, long)).toBe('completed');
    });

    it('frees a key its owner releases, so the retry can run', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, long);
      expect(await store.release(key, me)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });

    it('never lets release delete a completed record', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, long);
      await store.complete(key, me, long);
      expect(await store.release(key, me)).toBe(false);
      expect(await store.release(key, owner())).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it('ignores complete, release and extend from an owner that never held the key', async () => {
      const key = freshKey();
      const holder = owner();
      await store.acquire(key, holder, long);
      const stranger = owner();
      expect(await store.complete(key, stranger, long)).toBe(false);
      expect(await store.release(key, stranger)).toBe(false);
      expect(await store.extend(key, stranger, long)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('in_progress');
      expect(await store.complete(key, holder, long)).toBe(true);
    });

    it('answers false for complete, release and extend on an absent key', async () => {
      const key = freshKey();
      expect(await store.complete(key, owner(), long)).toBe(false);
      expect(await store.release(key, owner())).toBe(false);
      expect(await store.extend(key, owner(), long)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });

    it('lets a new owner take over once a lease lapses (a crashed worker)', async () => {
      const key = freshKey();
      await store.acquire(key, owner(), short);
      await sleep(short * 2);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });

    it('fences the stale owner after a takeover: its complete, release and extend do nothing', async () => {
      const key = freshKey();
      const stale = owner();
      await store.acquire(key, stale, short);
      await sleep(short * 2);
      const fresh = owner();
      expect(await store.acquire(key, fresh, long)).toBe('acquired');
      expect(await store.extend(key, stale, long)).toBe(false);
      expect(await store.complete(key, stale, long)).toBe(false);
      expect(await store.release(key, stale)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('in_progress');
      expect(await store.complete(key, fresh, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it('keeps a lease alive while its owner extends it', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short * 2);
      for (let i = 0; i < 3; i++) {
        await sleep(short);
        expect(await store.extend(key, me, short * 2)).toBe(true);
      }
      expect(await store.acquire(key, owner(), long)).toBe('in_progress');
    });

    it('cannot extend, complete or release a lease that lapsed', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      expect(await store.extend(key, me, long)).toBe(false);
      expect(await store.complete(key, me, long)).toBe(false);
      expect(await store.release(key, me)).toBe(false);
    });

    it('forgets a completed key once its TTL lapses', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, long);
      await store.complete(key, me, short);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      await sleep(short * 2);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });
  });
}
