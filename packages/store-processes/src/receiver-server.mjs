// One receiver process for the across-processes tests: a node:http server on an ephemeral port of
// 127.0.0.1 that calls core's createReceiver(...).handle from the BUILT dist, with a Redis or
// PostgreSQL idempotency store. Its handler records each run in the shared engine, so the test can
// count how many times every task ran. Prints one JSON line {"port": n} once listening.
//
// STORE=memory is the control: a MemoryStore per process (runs recorded in Redis), which cannot
// deduplicate across processes.
//
// Environment: STORE=redis|postgres|memory, CLIENT=ioredis|node-redis (Redis), SECRET, PREFIX (Redis
// key prefix) or TABLE (PostgreSQL table), RECORD (Redis hash or PostgreSQL table of runs),
// REDIS_PORT, PG_PORT, MAX_DELAY_MS.
import { createServer } from 'node:http';
import { createReceiver, MemoryStore } from '@ittybit-webhooks/core';

const env = process.env;
const maxDelay = Number(env.MAX_DELAY_MS ?? 20);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let store;
let record;
let close;

if (env.STORE === 'redis' || env.STORE === 'memory') {
  const { RedisStore } = await import('@ittybit-webhooks/redis');
  const port = Number(env.REDIS_PORT ?? 6379);
  if (env.CLIENT === 'node-redis') {
    const { createClientPool } = await import('redis');
    const pool = createClientPool({ socket: { host: '127.0.0.1', port } }, { minimum: 4 });
    pool.on('error', (error) => console.error(`redis pool: ${error.message}`));
    await pool.connect();
    store = new RedisStore({ client: pool, prefix: env.PREFIX });
    record = (taskId) => pool.hIncrBy(env.RECORD, taskId, 1);
    close = () => pool.close();
  } else {
    const { Redis } = await import('ioredis');
    const client = new Redis({ host: '127.0.0.1', port });
    client.on('error', (error) => console.error(`ioredis: ${error.message}`));
    store =
      env.STORE === 'memory' ? new MemoryStore() : new RedisStore({ client, prefix: env.PREFIX });
    record = (taskId) => client.hincrby(env.RECORD, taskId, 1);
    close = () => client.quit();
  }
} else if (env.STORE === 'postgres') {
  const { PostgresStore } = await import('@ittybit-webhooks/postgres');
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    host: '127.0.0.1',
    port: Number(env.PG_PORT ?? 5432),
    user: 'postgres',
    database: 'test',
    max: 10,
    connectionTimeoutMillis: 2_000,
    query_timeout: 5_000,
  });
  pool.on('error', (error) => console.error(`pg pool: ${error.message}`));
  store = new PostgresStore({ pool, table: env.TABLE });
  if (!/^[a-z_][a-z0-9_]*$/.test(env.RECORD ?? '')) throw new Error('RECORD must be a table name');
  record = (taskId) =>
    pool.query(`INSERT INTO ${env.RECORD} (task_id, pid) VALUES ($1, $2)`, [taskId, process.pid]);
  close = () => pool.end();
} else {
  throw new Error(`STORE must be redis, postgres or memory; got ${env.STORE}`);
}

const run = async (task) => {
  await sleep(Math.random() * maxDelay);
  await record(task.id);
};

const receiver = createReceiver({
  secret: env.SECRET,
  onSucceeded: run,
  onFailed: run,
  idempotency: { store },
  retryAfterSeconds: 1,
  // Core logs every 503 at error level; a 503 for a copy still in progress is expected here.
  logger: {
    error: (message) => {
      if (!message.includes('503 in_progress')) console.error(message);
    },
    warn: (message) => console.error(message),
  },
});

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const answer = await receiver.handle({
    method: req.method ?? 'GET',
    headers: req.headers,
    body: Buffer.concat(chunks),
  });
  res.writeHead(answer.status, answer.headers).end(answer.body);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

const shutdown = async () => {
  server.close();
  server.closeAllConnections();
  await receiver.drain();
  await close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
