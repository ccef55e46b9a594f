import { isWebhookError } from '@ittybit-webhooks/core';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TABLE,
  MIGRATION_SQL,
  migrate,
  migrationSql,
  type PgPoolLike,
  PostgresStore,
} from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const run = crypto.randomUUID().slice(0, 8);

function invalidOptions(error: unknown): boolean {
  return isWebhookError(error) && error.code === 'invalid_options';
}

const unsafeNames = [
  '',
  'x; DROP TABLE users',
  '1abc',
  'a.b.c',
  '"quoted"',
  'with space',
  'dash-name',
  'a'.repeat(64),
  'schema.',
];

describe('PostgresStore without a server', () => {
  it('refuses table names that are not plain identifiers (no SQL injection)', async () => {
    const pool: PgPoolLike = { query: async () => ({ rows: [], rowCount: 0 }) };
    for (const table of unsafeNames) {
      expect(() => new PostgresStore({ pool, table })).toThrow(/Invalid table name/);
      expect(() => migrationSql(table)).toThrow(/Invalid table name/);
      await expect(migrate(pool, { table })).rejects.toSatisfy(invalidOptions);
    }
  });

  it('refuses something that is not a pool, saying what to pass', () => {
    for (const pool of [undefined, null, {}]) {
      expect(() => new PostgresStore({ pool: pool as never })).toThrow(/pg Pool/);
    }
  });

  it('exports the SQL of the default table: logged, keyed by key, with an expiry index', () => {
    expect(MIGRATION_SQL).toBe(migrationSql());
    expect(MIGRATION_SQL).toContain(`CREATE TABLE IF NOT EXISTS "${DEFAULT_TABLE}"`);
    expect(MIGRATION_SQL).toMatch(/key text PRIMARY KEY/);
    expect(MIGRATION_SQL).toMatch(/expires_at timestamptz NOT NULL/);
    expect(MIGRATION_SQL).toMatch(/CREATE INDEX IF NOT EXISTS .* \(expires_at\)/);
    expect(MIGRATION_SQL).not.toMatch(/UNLOGGED/i);
    expect(migrationSql('app.webhook_keys')).toContain('"app"."webhook_keys"');
  });

  it('passes key, owner and whole milliseconds as parameters, and now() does the time', async () => {
    const queries: { text: string; values: unknown[] | undefined }[] = [];
    const pool: PgPoolLike = {
      query: async (text, values) => {
        queries.push({ text, values });
        return { rows: [{ state: 'acquired' }], rowCount: 1 };
      },
    };
    const store = new PostgresStore({ pool });
    expect(await store.acquire("task_'1", 'owner', 1500.5)).toBe('acquired');
    expect(queries[0]?.values).toEqual(["task_'1", 'owner', 1501]);
    expect(queries[0]?.text).toMatch(/ON CONFLICT \(key\) DO UPDATE/);
    expect(queries[0]?.text).toMatch(/WHERE t\.expires_at <= now\(\)/);
    expect(queries[0]?.text).not.toContain("task_'1");
    for (const ms of [0, -5, Number.NaN]) {
      await expect(store.acquire('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
      await expect(store.complete('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
      await expect(store.extend('k', 'o', ms)).rejects.toSatisfy(invalidOptions);
    }
    expect(queries).toHaveLength(1);
  });
});

describe.skipIf(!up)('PostgresStore tables on a real PostgreSQL', () => {
  let pool: pg.Pool;
  const schema = `ittybit_schema_${run}`;
  const table = `ittybit_unit_${run}`;
  beforeAll(() => {
    pool = new pg.Pool({ host: '127.0.0.1', port: PORT, user: 'postgres', database: 'test' });
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('migrates idempotently, from several processes at once, to a logged table', async () => {
    await Promise.all(Array.from({ length: 6 }, () => migrate(pool, { table })));
    await migrate(pool, { table });
    const { rows } = await pool.query(
      `SELECT c.relpersistence, a.attname, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
       WHERE c.oid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum`,
      [table],
    );
    expect(rows.map((r) => `${r.attname} ${r.type}`)).toEqual([
      'key text',
      'owner text',
      'state text',
      'expires_at timestamp with time zone',
    ]);
    expect(rows[0].relpersistence).toBe('p'); // permanent (logged), not unlogged
  });

  it('works in another schema (schema.table)', async () => {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(pool, { table: `${schema}.keys` });
    const store = new PostgresStore({ pool, table: `${schema}.keys` });
    expect(await store.acquire('k', 'me', 10_000)).toBe('acquired');
    expect(await store.complete('k', 'me', 10_000)).toBe(true);
    expect(await store.acquire('k', 'other', 10_000)).toBe('completed');
  });

  it('sets expires_at from now() on the server, and prune() deletes only expired rows', async () => {
    await migrate(pool, { table });
    const store = new PostgresStore({ pool, table });
    await pool.query(`TRUNCATE ${table}`);
    expect(await store.acquire('live', 'me', 60_000)).toBe('acquired');
    expect(await store.acquire('done', 'me', 60_000)).toBe('acquired');
    expect(await store.complete('done', 'me', 3_600_000)).toBe(true);
    expect(await store.acquire('lapsed-lease', 'me', 1)).toBe('acquired');
    expect(await store.acquire('lapsed-done', 'me', 60_000)).toBe('acquired');
    expect(await store.complete('lapsed-done', 'me', 1)).toBe(true);
    const { rows } = await pool.query(
      `SELECT key, state, round(extract(epoch FROM expires_at - now()))::int AS seconds
       FROM ${table} WHERE key IN ('live', 'done') ORDER BY key`,
    );
    expect(rows).toEqual([
      { key: 'done', state: 'completed', seconds: 3600 },
      { key: 'live', state: 'in_progress', seconds: 60 },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.prune()).toBe(2);
    const left = await pool.query(`SELECT key FROM ${table} ORDER BY key`);
    expect(left.rows.map((r) => r.key)).toEqual(['done', 'live']);
    expect(await store.prune()).toBe(0);
  });
});
