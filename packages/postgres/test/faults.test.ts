// What the receiver answers when PostgreSQL is unreachable, hangs, or drops the connection: the
// shared fault suite (503 with Retry-After within the store timeout, never a hang, never a second
// run of a handler) with a pg pool, pg_terminate_backend from the server side, and a stalled connect.
import { createTestTask } from '@ittybit-webhooks/core/testing';
import {
  deliverUntilOk,
  describeStoreFaults,
  expect503,
  FAULT_LEASE_MS,
  FAULT_TIMEOUT_MS,
  faultReceiver,
  serviceReachable,
} from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { expect, it, onTestFinished } from 'vitest';
import { migrate, PostgresStore } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const table = `ittybit_faults_${crypto.randomUUID().slice(0, 8)}`;
const application = table;

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
  onTestFinished(() => p.end().catch(() => {}));
  return p;
}

let admin: pg.Pool;

describeStoreFaults({
  name: 'PostgresStore',
  engine: 'PostgreSQL',
  port: PORT,
  up,
  unreachable: [
    {
      title: 'answers 503 + Retry-After at once when the port is closed',
      store: (port) => new PostgresStore({ pool: pool(port), table }),
    },
  ],
  setup: async () => {
    admin = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
    await migrate(admin, { table });
  },
  teardown: async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  },
  proxiedStore: async (port) => new PostgresStore({ pool: pool(port), table }),
  killedBy: 'pg_terminate_backend of its connections',
  directStore: async () => ({
    store: new PostgresStore({ pool: pool(PORT), table }),
    killConnections: async () => {
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      return killed.rowCount ?? 0;
    },
  }),
  extraTests: (proxied) => {
    it('answers 503 when the network swallows the connection attempt (no hang)', async () => {
      const { proxy, store } = await proxied();
      proxy.stall();
      // If the network recovers before the pool gives up connecting, the queued INSERT still
      // runs, after the 503: a late claim that holds the key until its lease lapses.
      const faults = faultReceiver(store, { timeoutMs: FAULT_TIMEOUT_MS, leaseMs: FAULT_LEASE_MS });
      const task = createTestTask();
      expect503(await faults.deliver(task));
      proxy.forward();
      expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
      expect(faults.runs.get(task.id)).toBe(1);
    });
  },
});
