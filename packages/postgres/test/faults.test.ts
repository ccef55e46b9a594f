// What the receiver answers when PostgreSQL is unreachable, hangs, or drops the connection: 503
// with Retry-After within the store timeout, never a hang, and never a second run of a handler.
import { createTestTask } from '@ittybit-webhooks/core/testing';
import {
  closedPort,
  deliverUntilOk,
  faultReceiver,
  serviceReachable,
  TcpProxy,
} from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PostgresStore } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const run = crypto.randomUUID().slice(0, 8);
const table = `ittybit_faults_${run}`;
const application = `ittybit_faults_${run}`;
const TIMEOUT = 500;
/** Longest acceptable answer time when the store is down: the store timeout plus slack. */
const BOUND = TIMEOUT + 1_000;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A pool as the README recommends: bounded connect and query times, an error listener. */
function pool(port: number): pg.Pool {
  const p = new pg.Pool({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'test',
    application_name: application,
    max: 4,
    connectionTimeoutMillis: 1_000,
    query_timeout: 5_000,
  });
  p.on('error', () => {}); // an idle connection died: expected here; the pool replaces it
  cleanup.push(() => p.end().catch(() => {}));
  return p;
}

function expect503(answer: { status: number; headers: Record<string, string>; ms: number }) {
  expect(answer.status).toBe(503);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  expect(answer.ms).toBeLessThan(BOUND);
}

describe('PostgresStore with PostgreSQL unreachable', () => {
  it('answers 503 + Retry-After at once when the port is closed', async () => {
    const faults = faultReceiver(new PostgresStore({ pool: pool(await closedPort()), table }), {
      timeoutMs: TIMEOUT,
    });
    const answer = await faults.deliver(createTestTask());
    expect503(answer);
    expect(faults.runs.size).toBe(0);
  });
});

describe.skipIf(!up)('PostgresStore when the connection breaks mid-run', () => {
  let admin: pg.Pool | undefined;
  beforeAll(async () => {
    admin = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
    await migrate(admin, { table });
  });
  afterAll(async () => {
    await admin?.query(`DROP TABLE IF EXISTS ${table}`);
    await admin?.end();
  });

  async function proxied() {
    const proxy = await TcpProxy.start(PORT);
    cleanup.push(() => proxy.close());
    return { proxy, store: new PostgresStore({ pool: pool(proxy.port), table }) };
  }

  it('answers 503 when the network swallows the connection attempt (no hang)', async () => {
    const { proxy, store } = await proxied();
    proxy.stall();
    // If the network recovers before the pool gives up connecting, the queued INSERT still runs,
    // after the 503: a late claim that holds the key until its lease lapses.
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: 1_500 });
    const task = createTestTask();
    expect503(await faults.deliver(task));
    proxy.forward();
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('answers 503 when the network stalls mid-run (no hang), then runs the retry once', async () => {
    const { proxy, store } = await proxied();
    // The stalled INSERT reaches PostgreSQL once the network recovers, after the receiver
    // answered 503: that late claim holds the key until its lease lapses (503s meanwhile).
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: 1_500 });
    expect((await faults.deliver(createTestTask())).status).toBe(200);
    proxy.stall();
    const task = createTestTask();
    expect503(await faults.deliver(task));
    proxy.forward();
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('answers 503 when the connection is reset while acquire is in flight', async () => {
    const { proxy, store } = await proxied();
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT });
    expect((await faults.deliver(createTestTask())).status).toBe(200);
    proxy.stall();
    const task = createTestTask();
    const pending = faults.deliver(task);
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.refuse();
    expect503(await pending);
    expect(faults.runs.size).toBe(1);
    proxy.forward();
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('survives pg_terminate_backend of its connections: 200 or 503, then exactly one run', async () => {
    const faults = faultReceiver(new PostgresStore({ pool: pool(PORT), table }), {
      timeoutMs: TIMEOUT,
    });
    expect((await faults.deliver(createTestTask())).status).toBe(200);
    const killed = await admin!.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [application],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    const task = createTestTask();
    const first = await faults.deliver(task);
    expect([200, 503]).toContain(first.status);
    expect(first.ms).toBeLessThan(BOUND);
    expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
    expect(faults.runs.get(task.id)).toBe(1);
  });

  it('answers 200 and logs when complete fails after the handler succeeded (connection lost)', async () => {
    const { proxy, store } = await proxied();
    const faults = faultReceiver(store, { timeoutMs: TIMEOUT, afterRun: () => proxy.refuse() });
    const task = createTestTask();
    const answer = await faults.deliver(task);
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(BOUND);
    expect(faults.runs.get(task.id)).toBe(1);
    expect(faults.phases).toEqual(['complete']);
    expect(faults.logs.join('\n')).toMatch(/could not mark it completed/);
  });
});
