// 4. Remote stores, one delivery at a time: what the server receives per fresh delivery and per
//    duplicate (Redis: every command, seen by MONITOR from the store's own connection; PostgreSQL:
//    every statement the store sends), and µs per handle(). References measured in the same run:
//    one bare round trip (PING / SELECT 1), and a hand-written route on the same server (HMAC +
//    JSON.parse + one `SET NX PX` / one `INSERT ... ON CONFLICT DO NOTHING`), interleaved.
import { randomBytes } from 'node:crypto';
import { createReceiver } from '@ittybit-webhooks/core';
import { migrate, PostgresStore } from '@ittybit-webhooks/postgres';
import { RedisStore } from '@ittybit-webhooks/redis';
import Redis from 'ioredis';
import pg from 'pg';
import { deliveryPool, nodeHeaders, SECRET } from '../lib/deliveries.mjs';
import { handVerify } from '../lib/hand.mjs';
import { compare, loadAverage, QUICK, timeBatch } from '../lib/measure.mjs';
import { ratio, section, us } from '../lib/section.mjs';

const COUNTED = QUICK ? 50 : 500;
const CALLS = QUICK ? 50 : 500;
const PAIRS = QUICK ? 1 : 7;
const TAG = randomBytes(4).toString('hex');
const REDIS = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
};
const PG = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};

const verify = handVerify(SECRET);
// Fresh deliveries for every call of every pass, never reused (the stores keep keys for 72 h).
const POOL = 2 * (20 + COUNTED + (PAIRS + 1) * CALLS * 2) + 100;
const pool = deliveryPool(POOL, 1024);
let next = 0;
const take = () => {
  const k = next++;
  if (k >= POOL) throw new Error('delivery pool exhausted');
  return k;
};

function receiverWith(store) {
  let handled = 0;
  const receiver = createReceiver({
    secret: SECRET,
    onSucceeded() {
      handled += 1;
    },
    onFailed() {},
    idempotency: { store },
    logger: false,
  });
  const handle = async (k) => {
    const answer = await receiver.handle({
      method: 'POST',
      headers: nodeHeaders(pool.bodies[k], pool.signatures[k]),
      body: pool.bodies[k],
    });
    if (answer.status !== 200) throw new Error(`handle answered ${answer.status}`);
    return answer;
  };
  return { handle, handled: () => handled };
}

/** Counts per command/statement name while `fn` runs. */
async function counting(counter, fn) {
  await new Promise((resolve) => setTimeout(resolve, 100)); // earlier MONITOR lines drain first
  counter.counts = new Map();
  await fn();
  await new Promise((resolve) => setTimeout(resolve, 100)); // MONITOR lines arrive after replies
  const counts = counter.counts;
  counter.counts = undefined;
  return counts;
}

const perDelivery = (counts, n) =>
  Object.fromEntries([...counts].map(([name, count]) => [name, count / n]));
const describe = (perOne) =>
  Object.entries(perOne)
    .map(([name, n]) => `${Number.isInteger(n) ? n : n.toFixed(2)} ${name}`)
    .join(' + ') || '0';

/** The store's traffic and timings for one store, given how to count and a hand-written floor. */
async function measureStore(label, store, counter, floorCall, roundTrip) {
  const { handle, handled } = receiverWith(store);
  for (let i = 0; i < 20; i++) await handle(take()); // connect, load scripts, warm up

  const fresh = Array.from({ length: COUNTED }, take);
  const freshCounts = await counting(counter, async () => {
    for (const k of fresh) await handle(k);
  });
  const dupCounts = await counting(counter, async () => {
    for (const k of fresh) {
      const answer = await handle(k);
      if (answer.headers['ittybit-webhook-duplicate'] !== 'true')
        throw new Error('not a duplicate');
    }
  });
  const handledBefore = handled();

  const rtt = (await timeBatch(roundTrip, CALLS)) / 1000;
  const oursFresh = (i) => handle(take(i));
  const floorFresh = (i) => {
    const k = take(i);
    if (verify(pool.bodies[k], pool.signatures[k]) === undefined) throw new Error('floor');
    return floorCall(k);
  };
  const timing = await compare(oursFresh, floorFresh, {
    calls: CALLS,
    pairs: PAIRS,
    clock: 'wall',
  });
  const fixed = fresh[0];
  const duplicateUs = (await timeBatch(() => handle(fixed), CALLS)) / 1000;
  const freshOk = handled() - handledBefore === timing.calls.ours;
  const result = {
    label,
    perFresh: perDelivery(freshCounts, COUNTED),
    perDuplicate: perDelivery(dupCounts, COUNTED),
    roundTripUs: rtt,
    handleUs: timing.oursUs,
    floorUs: timing.theirsUs,
    ratio: timing.ratio,
    duplicateUs,
    freshOk,
  };
  console.log(
    `   ${label.padEnd(22)} fresh: ${describe(result.perFresh)}; duplicate: ${describe(result.perDuplicate)}`,
  );
  console.log(
    `   ${''.padEnd(22)} handle() ${us(result.handleUs)} fresh, ${us(result.duplicateUs)} duplicate; hand-written 1-round-trip route ${us(result.floorUs)} (${ratio(result.ratio)}); one round trip ${us(rtt)}`,
  );
  return result;
}

async function redis() {
  const client = new Redis(REDIS);
  const monitorClient = new Redis(REDIS);
  const prefix = `ittybit:bench:${TAG}:`;
  try {
    const info = String(await client.call('CLIENT', 'INFO'));
    const addr = /addr=(\S+)/.exec(info)?.[1];
    const counter = { counts: undefined };
    const monitor = await monitorClient.monitor();
    monitor.on('monitor', (_time, args, source) => {
      if (!counter.counts || source !== addr) return;
      const name = String(args[0]).toUpperCase();
      counter.counts.set(name, (counter.counts.get(name) ?? 0) + 1);
    });
    const store = new RedisStore({ client, prefix });
    const result = await measureStore(
      'Redis (ioredis)',
      store,
      counter,
      (k) => client.set(`${prefix}floor:${pool.eventIds[k]}`, '1', 'PX', 259_200_000, 'NX'),
      () => client.ping(),
    );
    monitor.disconnect();
    return result;
  } finally {
    // Drop this run's keys (they would expire after 72 h anyway).
    let cursor = '0';
    do {
      const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
    client.disconnect();
    monitorClient.disconnect();
  }
}

async function postgres() {
  const pgPool = new pg.Pool({ ...PG, max: 4 });
  const table = `ittybit_bench_${TAG}`;
  const floorTable = `ittybit_bench_floor_${TAG}`;
  try {
    await migrate(pgPool, { table });
    await pgPool.query(`CREATE TABLE ${floorTable} (key text PRIMARY KEY)`);
    const counter = { counts: undefined };
    const counted = {
      query(text, values) {
        if (counter.counts) {
          const name = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '?';
          counter.counts.set(name, (counter.counts.get(name) ?? 0) + 1);
        }
        return pgPool.query(text, values);
      },
    };
    const store = new PostgresStore({ pool: counted, table });
    return await measureStore(
      'PostgreSQL (pg)',
      store,
      counter,
      (k) =>
        pgPool.query(`INSERT INTO ${floorTable} (key) VALUES ($1) ON CONFLICT DO NOTHING`, [
          pool.eventIds[k],
        ]),
      () => pgPool.query('SELECT 1'),
    );
  } finally {
    await pgPool.query(`DROP TABLE IF EXISTS ${table}, ${floorTable}`);
    await pgPool.end();
  }
}

section(async () => {
  const load = await loadAverage();
  console.log(`\n4. Stores, one delivery at a time (load ${load.toFixed(2)})`);
  const stores = [await redis(), await postgres()];
  return { load, counted: COUNTED, calls: CALLS, pairs: PAIRS, stores };
});
