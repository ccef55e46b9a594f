import { describe, expect, it } from 'vitest';
import { createReceiver, MemoryStore } from '../src/index.js';
import { acquireNow, completeNow } from '../src/memory-store.js';
import { createTestEvent } from '../src/testing.js';
import { SECRET, signedRequest } from './helpers.js';

describe('MemoryStore bounds', () => {
  it('evicts expired keys first, then the oldest completed, never one in progress', async () => {
    let now = 1_000;
    const store = new MemoryStore({ maxEntries: 3, now: () => now });
    await store.acquire('done-old', 'o1', 100);
    await store.complete('done-old', 'o1', 10_000);
    await store.acquire('running', 'o2', 10_000);
    await store.acquire('expires', 'o3', 50);
    now += 60; // 'expires' lapsed
    expect(await store.acquire('new-1', 'o4', 10_000)).toBe('acquired');
    expect(await store.acquire('running', 'x', 10_000)).toBe('in_progress');
    expect(await store.acquire('done-old', 'x', 10_000)).toBe('completed');
    // Full of live keys: the completed one goes, the running ones stay.
    expect(await store.acquire('new-2', 'o5', 10_000)).toBe('acquired');
    await store.complete('new-1', 'o4', 10_000);
    // 'done-old' was forgotten; now 'new-1' is the completed key that makes room.
    expect(await store.acquire('done-old', 'o6', 10_000)).toBe('acquired');
    expect(await store.acquire('running', 'x', 10_000)).toBe('in_progress');
    expect(await store.acquire('new-2', 'x', 10_000)).toBe('in_progress');
    expect(store.size).toBe(3);
  });

  it('refuses (store_unavailable) rather than evict a running claim', async () => {
    const store = new MemoryStore({ maxEntries: 2 });
    await store.acquire('a', 'o', 60_000);
    await store.acquire('b', 'o', 60_000);
    await expect(store.acquire('c', 'o', 60_000)).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    expect(await store.release('a', 'o')).toBe(true);
    expect(await store.acquire('c', 'o', 60_000)).toBe('acquired');
  });

  it('keeps at most 10,000 entries by default and stays bounded under a flood', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 12_345; i++) {
      await store.acquire(`k${i}`, 'o', 60_000);
      await store.complete(`k${i}`, 'o', 60_000);
    }
    // Full stores evict the oldest completed tenth at once.
    expect(store.size).toBeLessThanOrEqual(10_000);
    expect(store.size).toBeGreaterThanOrEqual(9_000);
    expect(await store.acquire('k12344', 'x', 60_000)).toBe('completed');
    expect(await store.acquire('k0', 'x', 60_000)).toBe('acquired');
  });
});

describe('MemoryStore complete after the lease lapsed', () => {
  it('records the key completed when nobody claimed it since, then forgets it after ttlMs', async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.acquire('k', 'me', 100);
    now = 150; // lease lapsed, nobody took the key
    expect(await store.complete('k', 'me', 1_000)).toBe(true);
    expect(await store.acquire('k', 'other', 100)).toBe('completed');
    now = 1_149;
    expect(await store.acquire('k', 'other', 100)).toBe('completed');
    now = 1_150;
    expect(await store.acquire('k', 'other', 100)).toBe('acquired');
  });

  it('refuses it while another owner holds the key, and once another owner completed it', async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.acquire('k', 'me', 100);
    now = 150;
    expect(await store.acquire('k', 'other', 100)).toBe('acquired');
    expect(await store.complete('k', 'me', 1_000)).toBe(false);
    expect(await store.complete('k', 'other', 1_000)).toBe(true);
    expect(await store.complete('k', 'me', 1_000)).toBe(false);
    expect(await store.acquire('k', 'x', 100)).toBe('completed');
  });

  it('keeps the first expiry when the same owner completes again (a retried complete)', async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.acquire('k', 'me', 100);
    expect(await store.complete('k', 'me', 1_000)).toBe(true);
    now = 500;
    expect(await store.complete('k', 'me', 1_000)).toBe(true);
    now = 1_000;
    expect(await store.acquire('k', 'x', 100)).toBe('acquired');
  });

  it('fails closed (store_unavailable) when the claim was forgotten and only running claims are left', async () => {
    let now = 0;
    const store = new MemoryStore({ maxEntries: 2, now: () => now });
    await store.acquire('gone', 'me', 100);
    now = 150;
    await store.acquire('a', 'o', 10_000);
    await store.acquire('b', 'o', 10_000); // the sweep drops the lapsed 'gone'
    await expect(store.complete('gone', 'me', 1_000)).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    expect(await store.complete('a', 'o', 1_000)).toBe(true);
    expect(await store.complete('gone', 'me', 1_000)).toBe(true);
    expect(await store.acquire('gone', 'x', 100)).toBe('completed');
    expect(await store.acquire('a', 'x', 100)).toBe('acquired');
  });
});

describe('MemoryStore eviction order', () => {
  it('evicts completed keys in the order they were claimed (complete does not move a key)', async () => {
    const store = new MemoryStore({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) await store.acquire(`k${i}`, 'o', 60_000);
    // Completed in reverse: k9 first, k0 last. Claim order still decides.
    for (let i = 9; i >= 0; i--) expect(await store.complete(`k${i}`, 'o', 60_000)).toBe(true);
    expect(await store.acquire('new', 'o', 60_000)).toBe('acquired');
    // Down to 90% (9 keys) before the insert: k0, claimed first though completed last, goes.
    expect(await store.acquire('k0', 'x', 60_000)).toBe('acquired');
    expect(await store.acquire('k2', 'x', 60_000)).toBe('completed');
    expect(await store.acquire('k9', 'x', 60_000)).toBe('completed');
  });

  it('counts a key taken over, or completed after its lease lapsed, as newly claimed', async () => {
    let now = 0;
    const store = new MemoryStore({ maxEntries: 4, now: () => now });
    await store.acquire('late', 'me', 100);
    await store.acquire('b', 'o', 10_000);
    await store.acquire('c', 'o', 10_000);
    await store.complete('b', 'o', 10_000);
    await store.complete('c', 'o', 10_000);
    now = 150;
    expect(await store.complete('late', 'me', 10_000)).toBe(true); // now the newest key
    await store.acquire('d', 'o', 10_000);
    expect(await store.acquire('e', 'o', 10_000)).toBe('acquired'); // full: evicts 'b' only
    expect(await store.acquire('late', 'x', 10_000)).toBe('completed');
    expect(await store.acquire('c', 'x', 10_000)).toBe('completed');
    expect(store.size).toBe(4);
  });
});

describe('MemoryStore records reused after eviction', () => {
  it("a lapsed claim whose record went to another key completes its own key, never the other's", async () => {
    let now = 1_000;
    const store = new MemoryStore({ maxEntries: 2, now: () => now });
    // Claims as the receiver makes them: numeric owners, the record kept for completeNow.
    const first = acquireNow(store, 'first', 1, 100, now);
    expect(first).toBeTypeOf('object');
    expect(acquireNow(store, 'other', 2, 60_000, now)).toBeTypeOf('object');
    now += 200; // 'first' lapsed: the next claim sweeps it and reuses its record
    const third = acquireNow(store, 'third', 3, 60_000, now);
    expect(third).toBe(first);
    // The first handler finishes late: its record is now the third claim's, so the key is looked
    // up. Nobody holds 'first' any more (a lapsed claim counts as absent), but only running claims
    // are kept, so there is no room to record it: store_unavailable, and the third claim is intact.
    expect(completeNow(store, 'first', 1, 10_000, first)).toBeInstanceOf(Error);
    expect(await store.acquire('third', 'x', 60_000)).toBe('in_progress');
    expect(completeNow(store, 'third', 3, 10_000, third)).toBe(true);
    expect(await store.acquire('third', 'x', 60_000)).toBe('completed');
    // Now a completed key can make room: the late completion of 'first' is recorded.
    expect(completeNow(store, 'first', 1, 10_000, first)).toBe(true);
    expect(await store.acquire('first', 'x', 60_000)).toBe('completed');
    expect(await store.acquire('other', 'x', 60_000)).toBe('in_progress');
  });

  it('an owner token never completes a claim made under another token with the same text', async () => {
    const store = new MemoryStore();
    const record = acquireNow(store, 'k', 7, 60_000, Date.now());
    expect(completeNow(store, 'k', '7', 10_000, record)).toBe(false);
    expect(await store.acquire('k', 'x', 60_000)).toBe('in_progress');
    expect(completeNow(store, 'k', 7, 10_000, record)).toBe(true);
    expect(await store.acquire('k', 'x', 60_000)).toBe('completed');
  });

  it('stays exactly-once over many evictions: every key claimed once, duplicates seen while kept', async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    let owner = 0;
    for (let i = 0; i < 1_000; i++) {
      const key = `k${i}`;
      owner += 1;
      const record = acquireNow(store, key, owner, 60_000, Date.now());
      expect(record).toBeTypeOf('object');
      expect(completeNow(store, key, owner, 60_000, record)).toBe(true);
      // The last 80 keys are still kept (eviction leaves at least 90% of the bound).
      for (const back of [1, 40, 80]) {
        if (i >= back) expect(await store.acquire(`k${i - back}`, 'x', 60_000)).toBe('completed');
      }
    }
  });
});

describe('MemoryStore with its own clock, behind a receiver', () => {
  it('claims and completes on the store clock, not the wall clock', async () => {
    let clock = 1_000; // far from Date.now(): a claim timed by the wall clock would never lapse
    const store = new MemoryStore({ now: () => clock });
    const runs: string[] = [];
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: (task) => {
        runs.push(task.id);
      },
      onFailed() {},
      logger: false,
      idempotency: { store, ttlMs: 10_000 },
    });
    const event = createTestEvent('task.succeeded', { id: 'task_clock' }, { id: 'evt_clock' });
    expect((await receiver.handle(await signedRequest(event))).status).toBe(200);
    const again = await receiver.handle(await signedRequest(event));
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    clock += 10_001; // the completed key lapses on the store's clock
    expect((await receiver.handle(await signedRequest(event))).status).toBe(200);
    expect(runs).toEqual(['task_clock', 'task_clock']);
  });
});
