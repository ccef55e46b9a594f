// npm run bench: speed and memory of the receiver, as ratios against a baseline measured in the
// same run (absolute numbers depend on the machine; ratios are what we track).
//   baseline: a hand-rolled check, createHmac over the raw body + timingSafeEqual + JSON.parse
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReceiver, MemoryStore, verifySignature } from '@ittybit-webhooks/core';
import { createTestTask, signPayload } from '@ittybit-webhooks/core/testing';

const SECRET = 'whsec_bench';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20_000);
const web = await import('../packages/core/dist/crypto/web.js');

const body = new TextEncoder().encode(
  JSON.stringify(createTestTask({ metadata: { exportId: 'e_1' } })),
);
const signature = await signPayload(body, SECRET);

async function measure(name, fn, rounds = ROUNDS) {
  for (let i = 0; i < Math.min(2_000, rounds); i++) await fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await fn(i);
  const ns = Number(process.hrtime.bigint() - start);
  return { name, perOpUs: ns / rounds / 1000 };
}

const baseline = await measure('baseline: createHmac + timingSafeEqual + JSON.parse', async () => {
  const expected = createHmac('sha256', SECRET).update(body).digest();
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad');
  JSON.parse(new TextDecoder().decode(body));
});

const sigBytes = Buffer.from(signature, 'hex');
const rows = [
  baseline,
  await measure('verifySignature (node:crypto)', async () => {
    if (!(await verifySignature(body, signature, SECRET))) throw new Error('bad');
  }),
  await measure('Web Crypto verify (cached CryptoKey)', async () => {
    if (!(await web.verifyHmacSha256(SECRET, body, sigBytes))) throw new Error('bad');
  }),
];

const off = createReceiver({
  secret: SECRET,
  onSucceeded() {},
  onFailed() {},
  idempotency: false,
  logger: false,
});
rows.push(
  await measure('receiver.handle, idempotency off', async () => {
    const res = await off.handle({
      method: 'POST',
      headers: { 'ittybit-signature': signature },
      body,
    });
    if (res.status !== 200) throw new Error(String(res.status));
  }),
);

// Distinct tasks, so every delivery claims and completes a key in the MemoryStore.
const deliveries = await Promise.all(
  Array.from({ length: ROUNDS + 2_000 }, async () => {
    const b = new TextEncoder().encode(JSON.stringify(createTestTask()));
    return { body: b, headers: { 'ittybit-signature': await signPayload(b, SECRET) } };
  }),
);
const withStore = createReceiver({
  secret: SECRET,
  onSucceeded() {},
  onFailed() {},
  logger: false,
});
rows.push(
  await measure('receiver.handle, MemoryStore claim + complete', async (i) => {
    const res = await withStore.handle({ method: 'POST', ...deliveries[i] });
    if (res.status !== 200) throw new Error(String(res.status));
  }),
);

console.log(
  `\nSpeed (${ROUNDS} deliveries of ${body.length} bytes each; ratio = time / baseline time)\n`,
);
console.log(`${'case'.padEnd(52)} ${'µs/op'.padStart(8)} ${'ratio'.padStart(7)}`);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(52)} ${row.perOpUs.toFixed(2).padStart(8)} ${(row.perOpUs / baseline.perOpUs).toFixed(2).padStart(7)}`,
  );
}

// Memory: the MemoryStore is bounded (10,000 keys). Heap after 10k keys is the baseline; after
// 5x as many distinct keys it should stay near 1x.
async function heapAfter(keys) {
  const store = new MemoryStore();
  for (let i = 0; i < keys; i++) {
    await store.acquire(`task_${i}:succeeded`, 'o', 60_000);
    await store.complete(`task_${i}:succeeded`, 'o', 60_000);
  }
  globalThis.gc?.();
  const used = process.memoryUsage().heapUsed;
  return { used, store };
}
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const ten = await heapAfter(10_000);
const tenGrowth = ten.used - before;
ten.store = null;
globalThis.gc?.();
const before50 = process.memoryUsage().heapUsed;
const fifty = await heapAfter(50_000);
const fiftyGrowth = fifty.used - before50;
console.log('\nMemory (MemoryStore heap growth; ratio = growth / growth at 10,000 keys)\n');
console.log(`10,000 distinct keys  ${(tenGrowth / 1e6).toFixed(2).padStart(7)} MB  1.00`);
console.log(
  `50,000 distinct keys  ${(fiftyGrowth / 1e6).toFixed(2).padStart(7)} MB  ${(fiftyGrowth / tenGrowth).toFixed(2)}  (size ${fifty.store.size})`,
);
if (!globalThis.gc) console.log('(run with node --expose-gc for steadier memory figures)');
