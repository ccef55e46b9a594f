/**
 * An idempotency store on PostgreSQL, for receivers that run as several processes or instances.
 *
 * ```ts
 * import pg from 'pg';
 * import { migrate, PostgresStore } from '@ittybit-webhooks/postgres';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool); // once, e.g. in your deploy step
 * createReceiver({ secret, onSucceeded, onFailed, idempotency: { store: new PostgresStore({ pool }) } });
 * ```
 */
import { type AcquireResult, type IdempotencyStore, WebhookError } from '@ittybit-webhooks/core';
import { tableName } from './table.js';

/** What a query answers: the part of `pg`'s `QueryResult` this package reads. */
export interface QueryResultLike {
  rows: unknown[];
  rowCount: number | null;
}

/** The part of a `pg` `Pool` (or `Client`) this package uses. */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}

/** The default table name. */
export const DEFAULT_TABLE = 'ittybit_webhook_idempotency';

/**
 * The SQL that creates the idempotency table (and its expiry index) under the name `table`, for
 * users who run migrations with their own tool. Idempotent (`IF NOT EXISTS`). The table is a
 * normal logged table: an unlogged one is emptied after a crash, forgetting completed deliveries.
 */
export function migrationSql(table: string = DEFAULT_TABLE): string {
  const { quoted, bare } = tableName(table);
  const index = `"${`${bare}_expires_at_idx`.slice(0, 63)}"`;
  return `CREATE TABLE IF NOT EXISTS ${quoted} (
  key text PRIMARY KEY,
  owner text NOT NULL,
  state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ${index} ON ${quoted} (expires_at);
`;
}

/** {@link migrationSql} for the default table `ittybit_webhook_idempotency`. */
export const MIGRATION_SQL: string = migrationSql();

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Table name, optionally `schema.table` (default `ittybit_webhook_idempotency`). */
  table?: string;
}

/**
 * Creates the idempotency table if it does not exist. Run it deliberately (a deploy step, a
 * migration), not on every request. Safe to run from several processes at once: it takes a
 * transaction-scoped advisory lock first.
 */
export async function migrate(pool: PgPoolLike, options: MigrateOptions = {}): Promise<void> {
  const sql = migrationSql(options.table ?? DEFAULT_TABLE);
  // Without parameters, pg sends one simple query: all statements run in one implicit
  // transaction, so the advisory lock is held until the DDL commits. Concurrent
  // CREATE TABLE IF NOT EXISTS can otherwise fail with a duplicate-key error on pg_type.
  await pool.query(`SELECT pg_advisory_xact_lock(7461221850337141);\n${sql}`);
}

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A `pg` Pool (a `Client` works too, one query at a time). Give it `connectionTimeoutMillis`
   * and `query_timeout`, and an `error` listener: see the README.
   */
  pool: PgPoolLike;
  /** Table name, optionally `schema.table` (default `ittybit_webhook_idempotency`). */
  table?: string;
}

const CLAIM_ATTEMPTS = 5;

function milliseconds(name: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new WebhookError(
      'invalid_options',
      `PostgresStore: ${name} must be a positive number of milliseconds; got ${String(value)}.`,
    );
  }
  return Math.ceil(value);
}

/**
 * {@link IdempotencyStore} on PostgreSQL. Each operation is one statement (no transaction),
 * conditional on the owner, with `now()` of the database as the only clock: a fresh delivery
 * costs two statements (acquire, complete), a duplicate one. Create the table first with
 * {@link migrate} or {@link migrationSql}; delete expired rows now and then with
 * {@link PostgresStore.prune}.
 */
export class PostgresStore implements IdempotencyStore {
  /** The table, as quoted in the SQL. */
  readonly table: string;
  readonly #pool: PgPoolLike;
  readonly #sql: {
    acquire: string;
    complete: string;
    release: string;
    extend: string;
    prune: string;
  };

  /** Wraps a pool; the store never ends it. */
  constructor(options: PostgresStoreOptions) {
    if (typeof options?.pool?.query !== 'function') {
      throw new WebhookError(
        'invalid_options',
        'PostgresStore: `pool` must be a pg Pool (an object with a `query` method), e.g. new PostgresStore({ pool: new pg.Pool() }).',
      );
    }
    this.#pool = options.pool;
    const t = tableName(options.table ?? DEFAULT_TABLE).quoted;
    this.table = t;
    const interval = (n: number) => `($${n}::double precision * interval '1 millisecond')`;
    // Live means expires_at > now(); a lapsed row counts as absent everywhere.
    this.#sql = {
      // One statement: claim the key (insert, or take over a lapsed row), and otherwise read the
      // state of the live row. ON CONFLICT re-checks its WHERE on the newest row version after
      // waiting on a concurrent writer; the SELECT reads the statement's snapshot, so a row
      // committed by a concurrent claim after it started is seen by neither: no row comes back,
      // and acquire asks again.
      acquire: `WITH claim AS (
INSERT INTO ${t} AS t (key, owner, state, expires_at)
VALUES ($1, $2, 'in_progress', now() + ${interval(3)})
ON CONFLICT (key) DO UPDATE
SET owner = excluded.owner, state = 'in_progress', expires_at = excluded.expires_at
WHERE t.expires_at <= now()
RETURNING 'acquired'::text AS state
)
SELECT state FROM claim
UNION ALL
SELECT state FROM ${t} WHERE key = $1 AND expires_at > now()`,
      // Completes the owner's live claim; or the key if it is absent or lapsed (the owner's lease
      // ran out and nobody holds or completed it since). Answers a row again, keeping the first
      // expiry, when the owner already completed it: a retried complete.
      complete: `INSERT INTO ${t} AS t (key, owner, state, expires_at)
VALUES ($1, $2, 'completed', now() + ${interval(3)})
ON CONFLICT (key) DO UPDATE
SET owner = excluded.owner, state = 'completed',
expires_at = CASE WHEN t.state = 'completed' AND t.expires_at > now()
  THEN t.expires_at ELSE excluded.expires_at END
WHERE t.owner = excluded.owner OR t.expires_at <= now()`,
      release: `DELETE FROM ${t}
WHERE key = $1 AND owner = $2 AND state = 'in_progress' AND expires_at > now()`,
      extend: `UPDATE ${t} SET expires_at = now() + ${interval(3)}
WHERE key = $1 AND owner = $2 AND state = 'in_progress' AND expires_at > now()`,
      prune: `DELETE FROM ${t} WHERE expires_at <= now()`,
    };
  }

  /** Claims `key` for `owner` for `leaseMs` if it is absent or its lease has lapsed. */
  async acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const lease = milliseconds('leaseMs', leaseMs);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const { rows } = await this.#pool.query(this.#sql.acquire, [key, owner, lease]);
      let found: AcquireResult | undefined;
      for (const row of rows) {
        const state = (row as { state?: unknown }).state;
        if (state === 'acquired') return 'acquired';
        if (state === 'completed' || state === 'in_progress') found = state;
      }
      if (found !== undefined) return found;
      // Neither claimed nor seen: a concurrent claim committed while this statement ran.
    }
    // The key keeps changing hands: answer "busy" so the sender retries later.
    return 'in_progress';
  }

  /**
   * Marks `key` completed and keeps it `ttlMs` if `owner` holds it, or if its lease lapsed and
   * nobody claimed the key since. `true` again for the owner that already completed it; `false`
   * when another owner holds or completed the key.
   */
  async complete(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const ttl = milliseconds('ttlMs', ttlMs);
    return (await this.#pool.query(this.#sql.complete, [key, owner, ttl])).rowCount === 1;
  }

  /** Deletes `key` if `owner` holds it in progress; never deletes a completed key. */
  async release(key: string, owner: string): Promise<boolean> {
    return (await this.#pool.query(this.#sql.release, [key, owner])).rowCount === 1;
  }

  /** Renews `owner`'s lease to `leaseMs` from now; `false` when the lease was lost. */
  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const lease = milliseconds('leaseMs', leaseMs);
    return (await this.#pool.query(this.#sql.extend, [key, owner, lease])).rowCount === 1;
  }

  /**
   * Deletes expired rows (lapsed leases and completions past their TTL) and answers how many.
   * Expired rows are already ignored; pruning only keeps the table small. Run it on a schedule,
   * e.g. hourly.
   */
  async prune(): Promise<number> {
    return (await this.#pool.query(this.#sql.prune)).rowCount ?? 0;
  }
}

export {
  DEAD_LETTER_MIGRATION_SQL,
  DEFAULT_DEAD_LETTER_TABLE,
  deadLetterMigrationSql,
  migrateDeadLetters,
  PostgresDeadLetters,
  type PostgresDeadLettersOptions,
} from './dead-letters.js';
