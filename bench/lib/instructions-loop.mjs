// One pipeline case for bench/instructions.mjs, in its own process under callgrind: warms up with
// at least 25,000 deliveries, tells the parent ('warm') so it zeroes the counters, runs INSTR_CALLS
// more on its word ('go') and says 'done'. The cases are those of section 1 of `npm run bench`.
import { createReceiver } from '@ittybit-webhooks/core';
import { deliveryPool, nodeHeaders, SECRET } from './deliveries.mjs';
import { handReceiver } from './hand.mjs';

const POOL = 30_000; // three times the 10,000 keys both dedup stores keep: every call is fresh
const calls = Number(process.env.INSTR_CALLS);
const { bodies, signatures } = deliveryPool(POOL, 1024);
const headers = bodies.map((body, i) => nodeHeaders(body, signatures[i]));
const receiver = (options) =>
  createReceiver({ secret: SECRET, onSucceeded() {}, onFailed() {}, logger: false, ...options });
const off = receiver({ idempotency: false });
const memory = receiver({});
const floor = handReceiver(SECRET, { dedup: false });
const floorSet = handReceiver(SECRET, { dedup: true });

const handled = (answer) => {
  if (answer.status !== 200) throw new Error(`handle answered ${answer.status}`);
};
const cases = {
  floor: (k) => floor.receive(bodies[k], signatures[k]),
  floorSet: (k) => floorSet.receive(bodies[k], signatures[k]),
  verify: (k) => off.verify(bodies[k], signatures[k]),
  off: async (k) =>
    handled(await off.handle({ method: 'POST', headers: headers[k], body: bodies[k] })),
  memory: async (k) =>
    handled(await memory.handle({ method: 'POST', headers: headers[k], body: bodies[k] })),
};
const run = cases[process.env.INSTR_CASE];
if (!run) throw new Error(`INSTR_CASE must be one of ${Object.keys(cases).join(', ')}`);

// Warm up well past the stores' 10,000-key bound, so their eviction code is compiled before the
// count starts (at least 25,000 deliveries).
const warm = Math.max(calls, 25_000);
let i = 0;
for (let n = 0; n < warm; n++) await run(i++ % POOL);
process.send('warm');
await new Promise((resolve) => process.once('message', resolve));
for (let n = 0; n < calls; n++) await run(i++ % POOL);
process.send('done');
