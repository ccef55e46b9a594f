// Two receiver processes (separate `node` processes, real HTTP servers, the built dist) share one
// PostgreSQL table. 1,000 tasks are each delivered 3 times, the copies racing across both
// processes; every task's handler (which inserts a row per run) must complete exactly once.
import { describeAcrossProcesses, serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { migrate } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const run = crypto.randomUUID().slice(0, 8);
const table = `ittybit_xproc_${run}`;
const record = `ittybit_xproc_runs_${run}`;
const env = { STORE: 'postgres', TABLE: table, RECORD: record, PG_PORT: String(PORT) };

describeAcrossProcesses({
  title: 'PostgresStore across processes',
  label: 'postgres',
  up,
  built: ['core', 'postgres'],
  secret: `whsec_${run}`,
  receivers: [env, env],
  setup: async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
    await migrate(pool, { table });
    await pool.query(`CREATE TABLE ${record} (task_id text NOT NULL, pid integer NOT NULL)`);
    return {
      runs: async () => {
        const { rows } = await pool.query<{ task_id: string; n: number }>(
          `SELECT task_id, count(*)::int AS n FROM ${record} GROUP BY task_id`,
        );
        return new Map(rows.map((row) => [row.task_id, row.n]));
      },
      perProcess: async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${record} GROUP BY pid ORDER BY pid`,
        );
        return rows.map((row) => row.n);
      },
      teardown: async () => {
        await pool.query(`DROP TABLE IF EXISTS ${table}, ${record}`);
        await pool.end();
      },
    };
  },
});
