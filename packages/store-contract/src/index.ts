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

    it('answers false for release and extend on an absent key, and leaves it absent', async () => {
      const key = freshKey();
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

    it('cannot extend or release a lease that lapsed', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      expect(await store.extend(key, me, long)).toBe(false);
      expect(await store.release(key, me)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });

    // complete after the lease lapsed: the handler ran to the end, only the lease ran out (a slow
    // store call, a blip). If nobody claimed the key since, recording it completed is what stops a
    // retry from running the handler again.
    it('completes a lapsed lease that nobody else claimed, for ttlMs', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      expect(await store.complete(key, me, short * 2)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      expect(await store.release(key, me)).toBe(false);
      expect(await store.extend(key, me, long)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      await sleep(short * 3);
      expect(await store.acquire(key, owner(), long)).toBe('acquired');
    });

    it('completes a lapsed lease whose claim another owner took and released meanwhile', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      const other = owner();
      expect(await store.acquire(key, other, long)).toBe('acquired');
      expect(await store.release(key, other)).toBe(true);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it('completes a lapsed lease when the claim that took over lapsed too (lapsed counts as absent)', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      expect(await store.acquire(key, owner(), short)).toBe('acquired');
      await sleep(short * 2);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it("refuses a lapsed owner's complete while another owner holds a live claim", async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      const other = owner();
      expect(await store.acquire(key, other, long)).toBe('acquired');
      expect(await store.complete(key, me, long)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('in_progress');
      expect(await store.extend(key, other, long)).toBe(true);
      expect(await store.complete(key, other, long)).toBe(true);
    });

    it("refuses a lapsed owner's complete once another owner completed the key", async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      const other = owner();
      expect(await store.acquire(key, other, long)).toBe('acquired');
      expect(await store.complete(key, other, long)).toBe(true);
      expect(await store.complete(key, me, long)).toBe(false);
      expect(await store.complete(key, owner(), long)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      // Still the other owner's record: its own repeated complete is answered true.
      expect(await store.complete(key, other, long)).toBe(true);
    });

    it('answers true to a repeated complete by the same owner (a retry whose reply was lost)', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, long);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      expect(await store.release(key, me)).toBe(false);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    it('answers true to a repeated complete after a lapsed lease was completed', async () => {
      const key = freshKey();
      const me = owner();
      await store.acquire(key, me, short);
      await sleep(short * 2);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
    });

    // A store cannot tell a claim that lapsed and was then forgotten (expired, pruned, evicted)
    // from no claim at all, and the only caller of complete is the owner that acquired the key.
    it('completes an absent key: a lapsed claim may already be forgotten', async () => {
      const key = freshKey();
      const me = owner();
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.acquire(key, owner(), long)).toBe('completed');
      expect(await store.complete(key, me, long)).toBe(true);
      expect(await store.complete(key, owner(), long)).toBe(false);
    });

    it("lets exactly one of a lapsed owner's complete and a new claim win, under races", async () => {
      const keys = Array.from({ length: 20 }, freshKey);
      const lapsed = new Map(keys.map((key) => [key, owner()]));
      await Promise.all(keys.map((key) => store.acquire(key, lapsed.get(key) as string, short)));
      await sleep(short * 2);
      const outcomes = await Promise.all(
        keys.map(async (key) => {
          const [completed, claim] = await Promise.all([
            store.complete(key, lapsed.get(key) as string, long),
            store.acquire(key, owner(), long),
          ]);
          return { completed, claim };
        }),
      );
      for (const { completed, claim } of outcomes) {
        expect(completed ? claim === 'completed' : claim === 'acquired').toBe(true);
      }
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
