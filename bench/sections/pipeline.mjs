// 1. The pipeline: receiver.handle() against the hand-written floor, in one process, interleaved.
//    dedup off       vs  createHmac + timingSafeEqual + JSON.parse
//    MemoryStore     vs  the same + a bounded Set of event ids
// Then JS heap allocated per delivery, GC pause per delivery, and heap kept after a full GC.
import { createReceiver } from '@ittybit-webhooks/core';
import { deliveryPool, nodeHeaders, SECRET } from '../lib/deliveries.mjs';
import { handReceiver } from '../lib/hand.mjs';
import { allocation, compare, loadAverage, QUICK } from '../lib/measure.mjs';
import { ratio, section, us } from '../lib/section.mjs';

const BYTES = 1024;
// Three times the MemoryStore's and the Set's 10,000 keys: a delivery that comes round again was
// dropped from both long before, so every call is a fresh delivery (checked below).
const POOL = QUICK ? 12_000 : 30_000;
const CALLS = QUICK ? 1_000 : 20_000;
const PAIRS = QUICK ? 3 : 9;
const ALLOC_CALLS = QUICK ? 2_000 : 20_000;

section(async () => {
  const load = await loadAverage();
  console.log(
    `\n1. Pipeline: handle() vs the floor (${BYTES}-byte deliveries; load ${load.toFixed(2)})`,
  );
  const { bodies, signatures } = deliveryPool(POOL, BYTES);
  const headers = bodies.map((body, i) => nodeHeaders(body, signatures[i]));

  const counts = { off: 0, memory: 0 };
  const receiver = (key, idempotency) =>
    createReceiver({
      secret: SECRET,
      onSucceeded() {
        counts[key] += 1;
      },
      onFailed() {},
      ...(idempotency === false ? { idempotency: false } : {}),
      logger: false,
    });
  const off = receiver('off', false);
  const memory = receiver('memory');
  const handle = (r) => async (i) => {
    const k = i % POOL;
    const answer = await r.handle({ method: 'POST', headers: headers[k], body: bodies[k] });
    if (answer.status !== 200) throw new Error(`handle answered ${answer.status}`);
  };
  const floor = (dedup) => {
    const hand = handReceiver(SECRET, { dedup });
    const fn = (i) => {
      const k = i % POOL;
      const outcome = hand.receive(bodies[k], headers[k]['ittybit-signature']);
      if (outcome === 'unauthorized' || outcome === 'invalid') throw new Error(outcome);
    };
    fn.hand = hand;
    return fn;
  };

  const floorOff = floor(false);
  const floorMap = floor(true);
  const cases = [];
  for (const [name, ours, theirs, floorName] of [
    ['handle(), dedup off', handle(off), floorOff, 'createHmac + timingSafeEqual + JSON.parse'],
    ['handle(), MemoryStore', handle(memory), floorMap, 'the same + a bounded Set of event ids'],
  ]) {
    const result = await compare(ours, theirs, { calls: CALLS, pairs: PAIRS });
    cases.push({ name, floor: floorName, ...result });
    console.log(
      `   ${name.padEnd(24)} ${us(result.oursUs).padStart(10)} vs ${us(result.theirsUs).padStart(10)}  ${ratio(result.ratio)}`,
    );
  }
  // Every call of the MemoryStore case and of the Set floor was a fresh delivery.
  const memoryCalls = cases[1].calls;
  const freshOk =
    counts.memory === memoryCalls.ours && floorMap.hand.fresh() === memoryCalls.theirs;
  if (!freshOk) {
    console.log(
      `   warning: not every delivery was fresh (handled ${counts.memory}/${memoryCalls.ours}, floor ${floorMap.hand.fresh()}/${memoryCalls.theirs})`,
    );
  }

  // Allocation: fresh receivers and floors, so the heap kept is what they hold after the run.
  const allocs = [];
  for (const [name, make] of [
    ['floor', () => floor(false)],
    ['floor + Set', () => floor(true)],
    ['handle(), dedup off', () => handle(receiver('off', false))],
    ['handle(), MemoryStore', () => handle(receiver('memory'))],
  ]) {
    const fn = make();
    await allocation(fn, ALLOC_CALLS / 4); // warm up
    const a = await allocation(fn, ALLOC_CALLS, ALLOC_CALLS / 4);
    allocs.push({ name, ...a });
    console.log(
      `   ${name.padEnd(24)} ${(a.bytesPerCall / 1024).toFixed(2).padStart(6)} KB allocated, ${a.gcPauseUsPerCall.toFixed(2)} µs GC per delivery; heap after GC +${(a.heapAfterGcBytes / 1e6).toFixed(2)} MB`,
    );
  }
  return { load, bytes: BYTES, pool: POOL, calls: CALLS, pairs: PAIRS, freshOk, cases, allocs };
});
