import { isWebhookError } from '@ittybit-webhooks/core';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDeadLetterSink } from '../../redis/test/dead-letter-contract.js';
import {
  DEAD_LETTER_MIGRATION_SQL,
  DEFAULT_DEAD_LETTER_TABLE,
  deadLetterMigrationSql,
  migrate,
  migrateDeadLetters,
  type PgPoolLike,
  PostgresDeadLetters,
  PostgresStore,
} from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const run = crypto.randomUUID().slice(0, 8);
const connection = { host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' };

describe('PostgresDeadLetters without a server', () => {
  it('refuses table names that are not plain identifiers, and something that is not a pool', async () => {
    const pool: PgPoolLike = { query: async () => ({ rows: [], rowCount: 0 }) };
    for (const table of ['', 'x; DROP TABLE users', '1abc', 'a.b.c', '"q"', 'a'.repeat(64)]) {
      expect(() => new PostgresDeadLetters({ pool, table })).toThrow(/Invalid table name/);
      expect(() => deadLetterMigrationSql(table)).toThrow(/Invalid table name/);
      await expect(migrateDeadLetters(pool, { table })).rejects.toSatisfy(
        (e: unknown) => isWebhookError(e) && e.code === 'invalid_options',
      );
    }
    for (const bad of [undefined, null, {}]) {
      expect(() => new PostgresDeadLetters({ pool: bad as never })).toThrow(/pg Pool/);
    }
  });

  it('exports the SQL of the default table: bytes as bytea, headers as jsonb, an index by last failure', () => {
    expect(DEFAULT_DEAD_LETTER_TABLE).toBe('ittybit_webhook_dead_letters');
    expect(DEAD_LETTER_MIGRATION_SQL).toBe(deadLetterMigrationSql());
    expect(DEAD_LETTER_MIGRATION_SQL).toContain(
      'CREATE TABLE IF NOT EXISTS "ittybit_webhook_dead_letters"',
    );
    expect(DEAD_LETTER_MIGRATION_SQL).toMatch(/body bytea NOT NULL/);
    expect(DEAD_LETTER_MIGRATION_SQL).toMatch(/headers jsonb NOT NULL/);
    expect(deadLetterMigrationSql('ops.dead')).toContain(
      'CREATE INDEX IF NOT EXISTS "dead_last_failed_at_idx" ON "ops"."dead" (last_failed_at)',
    );
  });
});

describe.skipIf(!up)('PostgresDeadLetters on a real PostgreSQL', () => {
  const pool = new pg.Pool({ ...connection, max: 4 });
  const tables: string[] = [];
  let n = 0;
  const table = () => {
    const name = `test_dead_${run}_${n++}`;
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await pool.query(`DROP TABLE IF EXISTS "${name}"`);
    await pool.end();
  });

  describeDeadLetterSink('PostgresDeadLetters', async () => {
    const name = table();
    const idempotency = table();
    await migrateDeadLetters(pool, { table: name });
    await migrate(pool, { table: idempotency });
    return {
      sink: new PostgresDeadLetters({ pool, table: name }),
      store: new PostgresStore({ pool, table: idempotency }),
      close: async () => {},
    };
  });

  describe('the table', () => {
    let name: string;
    beforeAll(async () => {
      name = table();
      // Twice, at once: idempotent and safe from several processes.
      await Promise.all([
        migrateDeadLetters(pool, { table: name }),
        migrateDeadLetters(pool, { table: name }),
      ]);
    });

    it('one statement per call; the row readable in SQL: bytes, times as timestamptz', async () => {
      const statements: string[] = [];
      const counting: PgPoolLike = {
        query: (text, values) => {
          statements.push(text);
          return pool.query(text, values);
        },
      };
      const sink = new PostgresDeadLetters({ pool: counting, table: name });
      await sink.put({
        key: 'evt_sql',
        body: Uint8Array.from([0, 1, 254, 255]),
        headers: { 'ittybit-signature': 'cd'.repeat(32) },
        error: 'Error: x',
        failedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      });
      expect(statements).toHaveLength(1);
      const { rows } = await pool.query(
        `SELECT encode(body, 'hex') AS hex, headers->>'ittybit-signature' AS signature,
          to_char(last_failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS at, attempts
         FROM "${name}" WHERE key = 'evt_sql'`,
      );
      expect(rows).toEqual([
        { hex: '0001feff', signature: 'cd'.repeat(32), at: '2026-01-02 03:04:05.678', attempts: 1 },
      ]);
      statements.length = 0;
      await sink.get('evt_sql');
      await sink.list({ limit: 5 });
      await sink.clear('evt_sql');
      expect(statements).toHaveLength(3);
    });

    it('a table that does not exist: the error names it', async () => {
      const sink = new PostgresDeadLetters({ pool, table: `missing_${run}` });
      await expect(sink.list()).rejects.toThrow(/missing_/);
    });
  });
});
