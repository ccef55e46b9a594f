import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/index.js';

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
