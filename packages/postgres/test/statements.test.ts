// Statements per delivery, counted on a real pg Pool: a fresh delivery costs 2 (acquire,
// complete), a duplicate 1, a busy duplicate 1, a handler that throws 2 (acquire, release).
// Each is one statement on its own: no BEGIN/COMMIT around it.
import { createTestTask } from '@ittybit-webhooks/core/testing';
import { faultReceiver, serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, type PgPoolLike, PostgresStore } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const table = `ittybit_statements_${crypto.randomUUID().slice(0, 8)}`;

/** The statements sent through a real pool, first word of each (INSERT, WITH, DELETE...). */
function counting(pool: pg.Pool): { pool: PgPoolLike; take(): string[] } {
  let sent: string[] = [];
  return {
    pool: {
      query: (text, values) => {
        sent.push(text.trimStart().split(/\s/, 1)[0]!.toUpperCase());
        return pool.query(text, values);
      },
    },
    take: () => {
      const taken = sent;
      sent = [];
      return taken;
    },
  };
}

describe.skipIf(!up)('PostgresStore statements per delivery', () => {
  let pool: pg.Pool;
  const measured: string[] = [];
  beforeAll(async () => {
    pool = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
    await migrate(pool, { table });
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
    if (measured.length > 0) console.log(`[PostgresStore statements]\n${measured.join('\n')}`);
  });

  it('costs 2 statements per fresh delivery and 1 per duplicate', async () => {
    const sent = counting(pool);
    const faults = faultReceiver(new PostgresStore({ pool: sent.pool, table }));
    const tasks = Array.from({ length: 10 }, () => createTestTask());
    for (const task of tasks) {
      expect((await faults.deliver(task)).status).toBe(200);
      expect(sent.take()).toEqual(['WITH', 'INSERT']); // acquire, complete
    }
    for (const task of tasks) {
      const answer = await faults.deliver(task);
      expect(answer.status).toBe(200);
      expect(answer.headers['ittybit-webhook-duplicate']).toBe('true');
      expect(sent.take()).toEqual(['WITH']);
    }
    expect([...faults.runs.values()]).toEqual(tasks.map(() => 1));
    measured.push('fresh delivery: 2 statements; duplicate: 1');
  });

  it('costs 1 statement for a duplicate while the first still runs, 2 for a handler that throws', async () => {
    const sent = counting(pool);
    const store = new PostgresStore({ pool: sent.pool, table });
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const held = faultReceiver(store, { afterRun: () => gate });
    const task = createTestTask();
    const first = held.deliver(task);
    while (!held.runs.has(task.id)) await new Promise((resolve) => setTimeout(resolve, 5));
    sent.take();
    expect((await faultReceiver(store).deliver(task)).status).toBe(503);
    expect(sent.take()).toEqual(['WITH']);
    open();
    expect((await first).status).toBe(200);
    sent.take();

    const throwing = faultReceiver(store, {
      afterRun: () => {
        throw new Error('handler failed');
      },
    });
    expect((await throwing.deliver(createTestTask())).status).toBe(500);
    expect(sent.take()).toEqual(['WITH', 'DELETE']); // acquire, release
    measured.push('busy duplicate: 1 statement; handler throws: 2');
  });

  it('stays near one statement per acquire under races (a retry only after a lost race)', async () => {
    const sent = counting(pool);
    const store = new PostgresStore({ pool: sent.pool, table });
    let acquireCalls = 0;
    const faults = faultReceiver(
      {
        acquire: (...args) => {
          acquireCalls++;
          return store.acquire(...args);
        },
        complete: (...args) => store.complete(...args),
        release: (...args) => store.release(...args),
        extend: (...args) => store.extend(...args),
      },
      { timeoutMs: 10_000 },
    );
    const tasks = Array.from({ length: 50 }, () => createTestTask());
    const answers = await Promise.all(
      tasks.flatMap((task) => [task, task, task]).map((task) => faults.deliver(task)),
    );
    const statements = sent.take();
    const acquires = statements.filter((word) => word === 'WITH').length;
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(50);
    expect(statements.filter((word) => word === 'INSERT')).toHaveLength(tasks.length);
    expect(statements.every((word) => word === 'WITH' || word === 'INSERT')).toBe(true);
    expect(acquireCalls).toBe(answers.length);
    expect(acquires).toBeGreaterThanOrEqual(acquireCalls);
    expect(acquires).toBeLessThanOrEqual(acquireCalls * 5);
    expect([...faults.runs.values()]).toEqual(tasks.map(() => 1));
    measured.push(
      `${answers.length} concurrent deliveries of ${tasks.length} tasks (pool of 10): ${acquires} acquire statements for ${acquireCalls} acquires (${acquires - acquireCalls} after a lost race), ${tasks.length} completes`,
    );
  });
});
