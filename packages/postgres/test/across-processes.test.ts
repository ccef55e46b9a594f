// Two receiver processes (separate `node` processes, real HTTP servers, the built dist) share one
// PostgreSQL table. 1,000 tasks are each delivered 3 times, the copies racing across both
// processes; every task's handler (which inserts a row per run) must complete exactly once.
import {
  assertBuilt,
  deliverAll,
  type Receivers,
  serviceReachable,
  startReceivers,
  summariseRuns,
} from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const run = crypto.randomUUID().slice(0, 8);
const table = `ittybit_xproc_${run}`;
const record = `ittybit_xproc_runs_${run}`;
const secret = `whsec_${run}`;

describe.skipIf(!up)('PostgresStore across processes', () => {
  let receivers: Receivers | undefined;
  let pool: pg.Pool;

  beforeAll(async () => {
    assertBuilt(['core', 'postgres']);
    pool = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
    await migrate(pool, { table });
    await pool.query(`CREATE TABLE ${record} (task_id text NOT NULL, pid integer NOT NULL)`);
    const common = { STORE: 'postgres', SECRET: secret, TABLE: table, RECORD: record };
    receivers = await startReceivers([
      { ...common, PG_PORT: String(PORT) },
      { ...common, PG_PORT: String(PORT) },
    ]);
  });

  afterAll(async () => {
    await receivers?.stop();
    if (pool) {
      await pool.query(`DROP TABLE IF EXISTS ${table}, ${record}`);
      await pool.end();
    }
  });

  it('runs every one of 1,000 tasks exactly once, each delivered 3 times to 2 processes', async () => {
    const { counts, taskIds } = await deliverAll({ urls: receivers!.urls, secret });
    const { rows } = await pool.query<{ task_id: string; n: number; pids: number }>(
      `SELECT task_id, count(*)::int AS n, count(DISTINCT pid)::int AS pids FROM ${record} GROUP BY task_id`,
    );
    const runs = new Map(rows.map((row) => [row.task_id, row.n]));
    const summary = summariseRuns(taskIds, runs);
    const byProcess = await pool.query<{ pid: number; n: number }>(
      `SELECT pid, count(*)::int AS n FROM ${record} GROUP BY pid ORDER BY pid`,
    );
    console.log(
      `[postgres, 2 processes] deliveries ${counts.deliveries}, requests ${counts.requests}, ` +
        `200s ${counts.ok} (duplicates ${counts.duplicates}), 503s ${counts.unavailable}, ` +
        `other ${counts.other}, undelivered ${counts.undelivered}; handler runs ${summary.handlerRuns} ` +
        `(per process ${byProcess.rows.map((r) => r.n).join(' + ')}) for ${counts.tasks} tasks, ` +
        `exactly once ${summary.exactlyOnce}, twice or more ${summary.ranTwice.length}, ` +
        `never ${summary.neverRan.length}; ${counts.ms} ms`,
    );
    expect(receivers!.stderr()).toBe('');
    expect(counts.undelivered).toBe(0);
    expect(counts.other).toBe(0);
    expect(counts.ok).toBe(counts.deliveries);
    expect(summary.ranTwice).toEqual([]);
    expect(summary.neverRan).toEqual([]);
    expect(summary.handlerRuns).toBe(counts.tasks);
    expect(counts.duplicates).toBe(counts.deliveries - counts.tasks);
    // Both processes did real work: the race was across processes, not inside one.
    expect(byProcess.rows).toHaveLength(2);
  }, 60_000);
});
