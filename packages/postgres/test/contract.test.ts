import { describeStoreContract } from '@ittybit-webhooks/store-contract';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import pg from 'pg';
import { describe } from 'vitest';
import { migrate, PostgresStore } from '../src/index.js';

const PORT = 5432;
const up = await serviceReachable('PostgreSQL', PORT);
const table = `ittybit_contract_${crypto.randomUUID().slice(0, 8)}`;

describe.skipIf(!up)('PostgresStore on a real PostgreSQL', () => {
  describeStoreContract(
    'PostgresStore (pg Pool of 16)',
    async () => {
      const pool = new pg.Pool({
        host: '127.0.0.1',
        port: PORT,
        user: 'postgres',
        database: 'test',
        max: 16,
        connectionTimeoutMillis: 5_000,
      });
      await migrate(pool, { table });
      return {
        store: new PostgresStore({ pool, table }),
        close: async () => {
          await pool.query(`DROP TABLE IF EXISTS ${table}`);
          await pool.end();
        },
      };
    },
    { concurrency: 32 },
  );
});
