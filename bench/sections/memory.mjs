// 5. Memory: heap kept by the MemoryStore per 10,000 keys (after a full GC), from deliveries run
//    through handle(), against the hand-written bounded Set of event ids; and the bound: 50,000
//    distinct deliveries leave at most maxEntries (10,000) keys.
import { getHeapStatistics } from 'node:v8';
import { createReceiver, MemoryStore } from '@ittybit-webhooks/core';
import { deliveryPool, nodeHeaders, SECRET } from '../lib/deliveries.mjs';
import { handReceiver } from '../lib/hand.mjs';
import { loadAverage, QUICK } from '../lib/measure.mjs';
import { section } from '../lib/section.mjs';

const KEYS = QUICK ? 2_000 : 10_000;
const MANY = QUICK ? 10_000 : 50_000;

function heapAfterGc() {
  globalThis.gc();
  globalThis.gc();
  return getHeapStatistics().used_heap_size;
}

section(async () => {
  if (!globalThis.gc) throw new Error('run with node --expose-gc');
  const load = await loadAverage();
  console.log(`\n5. Memory of the MemoryStore (load ${load.toFixed(2)})`);
  const pool = deliveryPool(MANY, 1024);
  const headers = pool.bodies.map((body, i) => nodeHeaders(body, pool.signatures[i]));

  async function ours(n) {
    const store = new MemoryStore();
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded() {},
      onFailed() {},
      idempotency: { store },
      logger: false,
    });
    const before = heapAfterGc();
    for (let k = 0; k < n; k++) {
      const answer = await receiver.handle({
        method: 'POST',
        headers: headers[k],
        body: pool.bodies[k],
      });
      if (answer.status !== 200) throw new Error(`handle answered ${answer.status}`);
    }
    const bytes = heapAfterGc() - before;
    return { bytes, keys: store.size, keep: [store, receiver] };
  }
  function hand(n) {
    const receiver = handReceiver(SECRET);
    const before = heapAfterGc();
    for (let k = 0; k < n; k++) receiver.receive(pool.bodies[k], pool.signatures[k]);
    const bytes = heapAfterGc() - before;
    return { bytes, keys: receiver.size(), keep: receiver };
  }

  // Warm-up runs first, so code compiled on first use is not counted as kept by the store.
  await ours(500);
  hand(500);
  const oursKeys = await ours(KEYS);
  const handKeys = hand(KEYS);
  const oursMany = await ours(MANY);
  const handMany = hand(MANY);
  const per10k = (r) => (r.bytes / r.keys) * 10_000;
  const result = {
    load,
    keys: KEYS,
    many: MANY,
    memoryStore: { bytes: oursKeys.bytes, keys: oursKeys.keys, per10k: per10k(oursKeys) },
    handMap: { bytes: handKeys.bytes, keys: handKeys.keys, per10k: per10k(handKeys) },
    ratio: per10k(oursKeys) / per10k(handKeys),
    memoryStoreMany: { bytes: oursMany.bytes, keys: oursMany.keys },
    handMapMany: { bytes: handMany.bytes, keys: handMany.keys },
  };
  const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
  console.log(
    `   MemoryStore      ${mb(result.memoryStore.per10k)} per 10,000 keys (${(result.memoryStore.per10k / 10_000).toFixed(0)} B/key); hand-written Set ${mb(result.handMap.per10k)} (${result.ratio.toFixed(2)}×)`,
  );
  console.log(
    `   after ${MANY.toLocaleString('en-US')} deliveries: MemoryStore ${result.memoryStoreMany.keys} keys, ${mb(result.memoryStoreMany.bytes)}; Set ${result.handMapMany.keys} keys, ${mb(result.handMapMany.bytes)}`,
  );
  return result;
});
