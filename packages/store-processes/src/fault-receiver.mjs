// One receiver process of the fault suite (`npm run test:faults`): a node:http server on an
// ephemeral port of 127.0.0.1 running core's createReceiver from the BUILT dist, with a Redis,
// PostgreSQL or in-process MemoryStore idempotency store. Prints one JSON line {"port": n} once
// listening.
//
// Its handler behaves like a careful user's: it works for `metadata.workMs` milliseconds, stops when
// ctx.signal aborts, throws on the first attempt of a task marked `metadata.flaky` (the sender's
// `x-fault-attempt` header says which attempt this is), and as its last act appends
// `done <key> <pid>` to this process's ledger file with fsync, so the line survives a SIGKILL. The
// suite counts those lines: a key with none was lost, a key with two ran twice.
//
// SIGUSR2 arms a crash: at the next moment when at least one handler is mid-work and no finished
// handler is still waiting for its `complete`, the process writes `kill <handlers in flight>` and
// sends itself SIGKILL. (A crash between a handler's end and its `complete` is the one window no
// store can close; docs/reliability.md describes it.) SIGTERM shuts down gracefully: stop
// listening, drain the handlers, write the store-call latencies, exit.
//
// Environment: STORE=redis|postgres|memory, SECRET, LEDGER (file), LEASE_MS, TIMEOUT_MS,
// RESPOND=after-handler|immediately; MAX_ENTRIES (MemoryStore); Redis: REDIS_PORT, PREFIX; PostgreSQL: PG_PORT, PG_DATABASE,
// TABLE, APP (application_name), POOL_MAX.
import { fsyncSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { createReceiver, MemoryStore } from '@ittybit-webhooks/core';

const env = process.env;
const ledger = openSync(env.LEDGER, 'a');
/** Appends one line to this process's ledger; `sync`: fsync before going on. */
const write = (line, sync = false) => {
  writeSync(ledger, `${line} @${Date.now()}\n`);
  if (sync) fsyncSync(ledger);
};

let store;
let close = async () => {};
let ready = async () => {};

if (env.STORE === 'redis') {
  const { RedisStore } = await import('@ittybit-webhooks/redis');
  const { Redis } = await import('ioredis');
  // The client settings the Redis README recommends: fail fast while disconnected.
  const client = new Redis({
    host: '127.0.0.1',
    port: Number(env.REDIS_PORT),
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
  });
  client.on('error', (error) => write(`log client ${error.message}`));
  ready = () =>
    client.status === 'ready'
      ? Promise.resolve()
      : new Promise((resolve) => client.once('ready', resolve));
  store = new RedisStore({ client, prefix: env.PREFIX });
  close = () => client.quit().catch(() => {});
} else if (env.STORE === 'postgres') {
  const { PostgresStore } = await import('@ittybit-webhooks/postgres');
  const { default: pg } = await import('pg');
  // The pool settings the PostgreSQL README recommends.
  const pool = new pg.Pool({
    host: '127.0.0.1',
    port: Number(env.PG_PORT),
    user: 'postgres',
    database: env.PG_DATABASE,
    application_name: env.APP,
    max: Number(env.POOL_MAX ?? 10),
    connectionTimeoutMillis: 2_000,
    query_timeout: 5_000,
  });
  pool.on('error', (error) => write(`log pool ${error.message}`));
  store = new PostgresStore({ pool, table: env.TABLE });
  close = () => pool.end().catch(() => {});
} else if (env.STORE === 'memory') {
  store = new MemoryStore(env.MAX_ENTRIES ? { maxEntries: Number(env.MAX_ENTRIES) } : {});
} else {
  throw new Error(`STORE must be redis, postgres or memory; got ${env.STORE}`);
}

// Handlers at work, and keys whose handler finished but whose `complete` has not answered yet.
const working = new Set();
const completing = new Set();
// Store-call durations by operation, for the latency the suite prints.
const latency = { acquire: [], extend: [], complete: [], release: [] };

/** The store, timed; `complete` also clears the key from `completing` once it answered. */
const timed = {};
for (const op of Object.keys(latency)) {
  timed[op] = (key, ...args) => {
    const started = performance.now();
    const call = store[op](key, ...args);
    call.then(
      () => {
        latency[op].push(Math.round(performance.now() - started));
        if (op === 'complete') completing.delete(key);
      },
      () => {},
    );
    return call;
  };
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const handle = async (task, ctx) => {
  const key = ctx.key;
  if (task.metadata?.flaky === true && ctx.headers['x-fault-attempt'] === '1') {
    write(`throw ${key}`);
    throw new Error(`first attempt of ${key} fails on purpose`);
  }
  working.add(key);
  write(`start ${key}`);
  try {
    await sleep(Number(task.metadata?.workMs ?? 50), ctx.signal);
    ctx.signal.throwIfAborted();
    completing.add(key);
    write(`done ${key} ${process.pid}`, true);
  } finally {
    working.delete(key);
  }
};

const receiver = createReceiver({
  secret: env.SECRET,
  onSucceeded: handle,
  onFailed: handle,
  idempotency: {
    store: timed,
    leaseMs: Number(env.LEASE_MS),
    timeoutMs: Number(env.TIMEOUT_MS),
  },
  respond: env.RESPOND === 'immediately' ? 'immediately' : 'after-handler',
  retryAfterSeconds: 1,
  logger: {
    error: (message) => write(`log error ${message.replaceAll('\n', ' ')}`),
    warn: (message) => write(`log warn ${message.replaceAll('\n', ' ')}`),
    info: () => {},
    debug: () => {},
  },
  onError: (_error, info) => write(`error ${info.phase} ${info.key ?? '-'}`),
});

let armed = false;
process.on('SIGUSR2', () => {
  armed = true;
});
setInterval(() => {
  if (!armed || working.size === 0 || completing.size > 0) return;
  write(`kill ${working.size}`, true);
  process.kill(process.pid, 'SIGKILL');
}, 2).unref();

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

await ready();
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(2), 10_000).unref();
  server.close();
  server.closeAllConnections();
  await receiver.drain();
  write(`latency ${JSON.stringify(latency)}`, true);
  await close();
  process.exit(0);
});
