import {
  type DeadLetter,
  type DeadLetterSink,
  type FailedDelivery,
  WebhookError,
} from '@ittybit-webhooks/core';
import type { PgPoolLike } from './index.js';
import { tableName } from './table.js';

/** The default dead-letter table name. */
export const DEFAULT_DEAD_LETTER_TABLE = 'ittybit_webhook_dead_letters';

/**
 * The SQL that creates the dead-letter table (and its index by last failure) under the name
 * `table`, for users who run migrations with their own tool. Idempotent (`IF NOT EXISTS`).
 */
export function deadLetterMigrationSql(table: string = DEFAULT_DEAD_LETTER_TABLE): string {
  const { quoted, bare } = tableName(table);
  const index = `"${`${bare}_last_failed_at_idx`.slice(0, 63)}"`;
  return `CREATE TABLE IF NOT EXISTS ${quoted} (
  key text PRIMARY KEY,
  body bytea NOT NULL,
  headers jsonb NOT NULL,
  topic text,
  event_id text,
  id text,
  error text NOT NULL,
  attempts integer NOT NULL,
  first_failed_at timestamptz NOT NULL,
  last_failed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${index} ON ${quoted} (last_failed_at);
`;
}

/** {@link deadLetterMigrationSql} for the default table `ittybit_webhook_dead_letters`. */
export const DEAD_LETTER_MIGRATION_SQL: string = deadLetterMigrationSql();

/**
 * Creates the dead-letter table if it does not exist. Run it deliberately (a deploy step, a
 * migration). Safe from several processes at once: it takes a transaction-scoped advisory lock.
 */
export async function migrateDeadLetters(
  pool: PgPoolLike,
  options: { table?: string } = {},
): Promise<void> {
  const sql = deadLetterMigrationSql(options.table ?? DEFAULT_DEAD_LETTER_TABLE);
  // One simple query (no parameters): the lock is held until the DDL commits.
  await pool.query(`SELECT pg_advisory_xact_lock(7461221850337142);\n${sql}`);
}

/** Options of {@link PostgresDeadLetters}. */
export interface PostgresDeadLettersOptions {
  /** A `pg` Pool (a `Client` works too). */
  pool: PgPoolLike;
  /** Table name, optionally `schema.table` (default `ittybit_webhook_dead_letters`). */
  table?: string;
}

interface Row {
  key: string;
  body: Uint8Array;
  headers: Record<string, string> | string;
  topic: string | null;
  event_id: string | null;
  id: string | null;
  error: string;
  attempts: number;
  first_ms: string | number;
  last_ms: string | number;
}

function letterOf(row: Row): DeadLetter {
  const headers = typeof row.headers === 'string' ? JSON.parse(row.headers) : row.headers;
  const letter: DeadLetter = {
    key: row.key,
    body: Uint8Array.from(row.body),
    headers: headers ?? {},
    error: row.error,
    attempts: Number(row.attempts),
    firstFailedAt: Number(row.first_ms),
    lastFailedAt: Number(row.last_ms),
  };
  if (row.topic !== null) letter.topic = row.topic;
  if (row.event_id !== null) letter.eventId = row.event_id;
  if (row.id !== null) letter.id = row.id;
  return letter;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') {
    throw new WebhookError(
      'invalid_options',
      'PostgresDeadLetters: a key must be a non-empty string.',
    );
  }
  return key;
}

/**
 * A {@link DeadLetterSink} on PostgreSQL: one row per key with the exact bytes (`bytea`), the
 * headers (`jsonb`), the attempts and the first and last failure times. Each operation is one
 * statement. Create the table first with {@link migrateDeadLetters} or
 * {@link deadLetterMigrationSql}.
 *
 * ```ts
 * createReceiver({ ..., deadLetters: new PostgresDeadLetters({ pool }) });
 * ```
 */
export class PostgresDeadLetters implements DeadLetterSink {
  /** The table, as quoted in the SQL. */
  readonly table: string;
  readonly #pool: PgPoolLike;
  readonly #sql: { put: string; clear: string; list: string; get: string };

  /** Wraps a pool; the sink never ends it. */
  constructor(options: PostgresDeadLettersOptions) {
    if (typeof options?.pool?.query !== 'function') {
      throw new WebhookError(
        'invalid_options',
        'PostgresDeadLetters: `pool` must be a pg Pool (an object with a `query` method), e.g. new PostgresDeadLetters({ pool: new pg.Pool() }).',
      );
    }
    this.#pool = options.pool;
    const t = tableName(options.table ?? DEFAULT_DEAD_LETTER_TABLE).quoted;
    this.table = t;
    // Unix milliseconds in and out, exactly: an integer number of milliseconds as an interval
    // from the epoch (microsecond storage), and back through numeric.
    const at = (n: number) => `(timestamptz 'epoch' + $${n}::bigint * interval '1 millisecond')`;
    const columns = `key, body, headers, topic, event_id, id, error, attempts,
(extract(epoch from first_failed_at) * 1000)::bigint AS first_ms,
(extract(epoch from last_failed_at) * 1000)::bigint AS last_ms`;
    this.#sql = {
      put: `INSERT INTO ${t} AS d
(key, body, headers, topic, event_id, id, error, attempts, first_failed_at, last_failed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1, ${at(8)}, ${at(8)})
ON CONFLICT (key) DO UPDATE
SET body = excluded.body, headers = excluded.headers, topic = excluded.topic,
event_id = excluded.event_id, id = excluded.id, error = excluded.error,
attempts = d.attempts + 1, last_failed_at = excluded.last_failed_at`,
      clear: `DELETE FROM ${t} WHERE key = $1`,
      list: `SELECT ${columns} FROM ${t} ORDER BY last_failed_at DESC, key LIMIT $1`,
      get: `SELECT ${columns} FROM ${t} WHERE key = $1`,
    };
  }

  /** Keeps a failed attempt: the first failure's time stays, the attempt is counted. */
  async put(failed: FailedDelivery): Promise<void> {
    const key = checkKey(failed?.key);
    await this.#pool.query(this.#sql.put, [
      key,
      Buffer.from(failed.body.buffer, failed.body.byteOffset, failed.body.byteLength),
      JSON.stringify(failed.headers ?? {}),
      failed.topic ?? null,
      failed.eventId ?? null,
      failed.id ?? null,
      failed.error ?? '',
      String(Math.floor(failed.failedAt)),
    ]);
  }

  /** Forgets `key` (its delivery has now been handled). */
  async clear(key: string): Promise<void> {
    await this.#pool.query(this.#sql.clear, [checkKey(key)]);
  }

  /** The kept letters, the most recently failed first (default: at most 100). */
  async list(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    if (!(Number.isInteger(limit) && limit >= 0)) {
      throw new WebhookError(
        'invalid_options',
        `PostgresDeadLetters: limit must be a whole number >= 0; got ${String(limit)}.`,
      );
    }
    const { rows } = await this.#pool.query(this.#sql.list, [limit]);
    return (rows as Row[]).map(letterOf);
  }

  /** The letter kept for `key`, if any. */
  async get(key: string): Promise<DeadLetter | undefined> {
    const { rows } = await this.#pool.query(this.#sql.get, [checkKey(key)]);
    const row = rows[0] as Row | undefined;
    return row ? letterOf(row) : undefined;
  }
}
