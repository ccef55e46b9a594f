// Fault suite, PostgreSQL: the machine's server on 127.0.0.1:5432, a database of the suite's own
// (`ittybit_faults`) and a table per fault, two receiver processes (the built packages, real HTTP
// servers) and a sender delivering each task as 3 concurrent copies with retries. The receivers
// reach PostgreSQL through a TCP proxy that can hold every byte (a network blackhole) or delay
// them. Each fault must show 0 tasks lost and 0 run twice. Rows (b) (c) (d) of docs/reliability.md.
import { migrationSql } from '@ittybit-webhooks/postgres';
import { ProxyProcess, serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectExactlyOnce,
  latencyOf,
  plan,
  RUN,
  runFault,
  sleep,
  storeErrors,
  storeUnavailable,
  workDir,
} from './suite.js';

const PORT = 5432;
const DATABASE = 'ittybit_faults';
const up = await serviceReachable('PostgreSQL', PORT);
const dir = workDir('postgres');

describe.skipIf(!up)('PostgreSQL faults', () => {
  /** The receivers' connections carry this application_name, so only they get terminated. */
  const application = `ittybit-faults-${RUN}`;
  let admin: pg.Pool;
  let proxy: ProxyProcess;
  const tables: string[] = [];

  async function env(name: string, port: number): Promise<Record<string, string>> {
    const table = `faults_${RUN}_${name}`;
    await admin.query(migrationSql(table));
    tables.push(table);
    return {
      STORE: 'postgres',
      PG_PORT: String(port),
      PG_DATABASE: DATABASE,
      TABLE: table,
      APP: application,
    };
  }

  async function terminate(): Promise<number> {
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [application],
    );
    return killed.rowCount ?? 0;
  }

  beforeAll(async () => {
    const postgres = new pg.Client({
      host: '127.0.0.1',
      port: PORT,
      user: 'postgres',
      database: 'test',
    });
    await postgres.connect();
    try {
      const found = await postgres.query('SELECT 1 FROM pg_database WHERE datname = $1', [
        DATABASE,
      ]);
      if (found.rowCount === 0) {
        await postgres.query(`CREATE DATABASE ${DATABASE}`).catch((error: Error) => {
          if (!/already exists/.test(error.message)) throw error; // another run made it meanwhile
        });
      }
    } finally {
      await postgres.end();
    }
    admin = new pg.Pool({
      host: '127.0.0.1',
      port: PORT,
      user: 'postgres',
      database: DATABASE,
      max: 2,
    });
    proxy = await ProxyProcess.start(PORT);
  });
  afterAll(async () => {
    await proxy?.close();
    for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin?.end();
  });

  it('(b) backends terminated and a 4 s network blackhole: 0 lost, 0 run twice', async () => {
    const tasks = 200;
    const result = await runFault({
      order: 3,
      fault: '(b) pg_terminate_backend ×3 and a 4 s blackhole in the proxy',
      store: 'PostgreSQL',
      asserted: true,
      dir,
      tasks,
      concurrency: 30,
      plan: plan('b', 100, 800),
      env: { ...(await env('b', proxy.port)), LEASE_MS: '10000', TIMEOUT_MS: '2000' },
      inject: async ({ progress }) => {
        const killed: number[] = [];
        await progress(0.15);
        killed.push(await terminate());
        await progress(0.3);
        killed.push(await terminate());
        await progress(0.45);
        await proxy.stall();
        await sleep(4_000);
        await proxy.forward();
        await progress(0.7);
        killed.push(await terminate());
        return `terminated ${killed.join(' + ')} backends at 15, 30 and 70 %; every byte held 4 s at 45 %`;
      },
    });
    const { ledger } = result;
    result.row.evidence += `${storeErrors(ledger)}; ${storeUnavailable(ledger)} answers 503 store_unavailable`;
    expectExactlyOnce(result, tasks);
    expect(storeUnavailable(ledger)).toBeGreaterThan(0);
    expect(ledger.storeErrors.complete).toBeGreaterThan(0);
  });

  it('(c) a receiver SIGKILLed mid-handler: its claims are taken over after the lease, 0 lost, 0 run twice', async () => {
    const tasks = 200;
    const result = await runFault({
      order: 6,
      fault: '(c) receiver process SIGKILLed mid-handler',
      store: 'PostgreSQL',
      asserted: true,
      dir,
      tasks,
      plan: plan('c-postgres', 200, 1_500),
      env: { ...(await env('c', PORT)), LEASE_MS: '6000', TIMEOUT_MS: '1000' },
      inject: async ({ progress, receivers }) => {
        await progress(0.3);
        const signal = await receivers.crash(0, 1_000);
        return `${signal} at 30 %, replaced 1 s later`;
      },
    });
    const inFlight = result.ledger.killedInFlight;
    result.row.evidence += `; handlers at work when it died: ${inFlight.join(', ')}; lease 6 s`;
    expect(inFlight).toHaveLength(1);
    expect(inFlight[0]).toBeGreaterThan(0);
    expectExactlyOnce(result, tasks);
  });

  it('(d) a slow store (p50 ≈ 2 s per call) under a lease that follows the rule: 0 lost, 0 run twice', async () => {
    const tasks = 60;
    const result = await runFault({
      order: 8,
      fault: '(d) store slowed by the proxy; leaseMs 16 s, timeoutMs 4 s',
      store: 'PostgreSQL',
      asserted: true,
      dir,
      tasks,
      concurrency: 15,
      plan: plan('d-postgres', 20, 250, { share: 0.1, min: 4_500, max: 7_000 }),
      env: {
        ...(await env('d', proxy.port)),
        LEASE_MS: '16000',
        TIMEOUT_MS: '4000',
        POOL_MAX: '20',
      },
      inject: async () => {
        await proxy.slow(400, 1_200);
        return 'every chunk held 0.4–1.2 s each way';
      },
      deadlineMs: 120_000,
    });
    await proxy.forward();
    const { ledger } = result;
    const latency = latencyOf(ledger);
    result.row.evidence += `; store calls p50 ${(latency.p50 / 1000).toFixed(1)} s, p95 ${(latency.p95 / 1000).toFixed(1)} s over ${latency.calls} calls, ${ledger.latency.extend?.length ?? 0} renewals${storeErrors(ledger)}`;
    expectExactlyOnce(result, tasks);
    expect(latency.p50).toBeGreaterThan(1_500);
    expect(ledger.latency.extend?.length).toBeGreaterThan(0);
  });
});
