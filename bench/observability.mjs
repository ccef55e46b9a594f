// node --expose-gc bench/observability.mjs: what the observability options cost per delivery.
// receiver.handle() in one process, no HTTP, each option against the plain receiver in the same
// run, interleaved (the order shuffled every round), as the median of per-round ratios of CPU
// time per delivery.
//
//   fresh deliveries (200 received)   plain | onDelivery | a console-style logger | pino |
//                                      OpenTelemetry API without an SDK | OpenTelemetry SDK
//                                      (spans and metrics) | MemoryDeadLetters | all of them
//   duplicates (200 duplicate, logged at info)        plain (no logger) | console-style | pino
//   handler throws (500, logged at error)              no sink | MemoryDeadLetters (a put each)
//   with AsyncLocalStorage context propagation on     plain | OpenTelemetry SDK (last: the
//                                                      context manager slows every promise after)
//
// Needs the packages built (npm run build): core and otel from dist/, pino and the OpenTelemetry
// SDK from the workspace's node_modules. BENCH_QUICK=1 for a short run.

import { fork } from 'node:child_process';
import { Console } from 'node:console';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createReceiver, MemoryDeadLetters } from '@ittybit-webhooks/core';
import { createTestEvent } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { otelTelemetry } from '@ittybit-webhooks/otel';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 3 : 25;
const BATCH = QUICK ? 500 : 2_000;
const HTTP_ROUNDS = QUICK ? 2 : 11;
const HTTP_BATCH = QUICK ? 300 : 2_000;
const SECRET = 'whsec_bench_observability';

// --- the HTTP client (a child process: its CPU is not the server's) ---------------------------

if (process.argv[2] === 'client') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const post = (port, { body, headers }) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/webhooks/ittybit', method: 'POST', agent, headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let prepared;
  process.on('message', async (message) => {
    try {
      if (!message.go) {
        // Signed before the server's CPU is measured.
        prepared = { port: message.port, batch: pool(message.count, `h${message.round}`) };
        process.send({ ready: true });
        return;
      }
      const { port, batch } = prepared;
      let next = 0;
      const worker = async () => {
        while (next < batch.length) await post(port, batch[next++]);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      process.send({ done: true });
    } catch (error) {
      process.send({ error: String(error) });
    }
  });
}

// --- deliveries -------------------------------------------------------------------------------

const tag = randomBytes(3).toString('hex');
/** `count` distinct signed 1 KiB-ish task.succeeded events: { body, headers }. */
function pool(count, label) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const event = createTestEvent(
      'task.succeeded',
      {
        id: `task_${label}_${tag}_${i}`,
        metadata: { exportId: `exp_${i}`, note: 'n'.repeat(600) },
      },
      { id: `evt_${label}_${tag}_${i}` },
    );
    const body = Buffer.from(JSON.stringify(event));
    out[i] = {
      body,
      headers: {
        host: '127.0.0.1:3000',
        'content-type': 'application/json',
        'content-length': String(body.length),
        'ittybit-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      },
    };
  }
  return out;
}

// --- what is measured -------------------------------------------------------------------------

const devNull = () => createWriteStream('/dev/null');
const consoleLike = () => new Console({ stdout: devNull(), stderr: devNull() });
const pinoLogger = () =>
  pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }));

/** OpenTelemetry SDK providers with exporters that drop what they get (no I/O). */
function sdk() {
  const drop = {
    export: (_items, done) => done({ code: 0 }),
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(drop, { maxQueueSize: 65_536, maxExportBatchSize: 4_096 }),
    ],
  });
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: drop, exportIntervalMillis: 60_000 })],
  });
  return {
    tracer: tracerProvider.getTracer('bench'),
    meter: meterProvider.getMeter('bench'),
    shutdown: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]),
  };
}

let delivered = 0;
function receiverOptions(options, throws = false) {
  return {
    secret: SECRET,
    logger: false,
    onSucceeded() {
      if (throws) throw new Error('database unavailable');
      delivered += 1;
    },
    onFailed() {},
    ...options,
  };
}
const receiver = (options, throws) => createReceiver(receiverOptions(options, throws));

/**
 * CPU µs (user + system, this process) per delivery of sequential handle() calls, each answered
 * `status`. CPU time rather than wall time: other processes on a shared machine do not count.
 */
async function time(r, deliveries, status) {
  globalThis.gc?.();
  const started = process.cpuUsage();
  for (const { body, headers } of deliveries) {
    const answer = await r.handle({ method: 'POST', headers, body });
    if (answer.status !== status) throw new Error(`answered ${answer.status}, not ${status}`);
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / deliveries.length;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const shuffle = (items) => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

/**
 * Runs `variants` ({ name, make() → receiver }) interleaved for ROUNDS rounds. `prepare(round)`
 * gives the round's deliveries; `prime(receiver, deliveries)` runs before timing (untimed).
 * Returns rows { name, us, ratio, min, max } against the first variant.
 */
async function compare(title, variants, { deliveries, status, prime }) {
  const times = new Map(variants.map((v) => [v.name, []]));
  // A warm-up round, not counted.
  for (let round = -1; round < ROUNDS; round++) {
    const batch = deliveries(round);
    for (const variant of shuffle(variants)) {
      // A fresh receiver per round: its store has not seen this round's deliveries.
      const r = variant.make();
      if (prime) await prime(r, batch);
      const us = await time(r, batch, status);
      if (round >= 0) times.get(variant.name).push(us);
    }
  }
  return report(title, variants, times);
}

/** Rows { name, us, ratio, min, max } against the first variant, printed. */
function report(title, variants, times) {
  const base = times.get(variants[0].name);
  const rows = variants.map((v) => {
    const own = times.get(v.name);
    const ratios = own.map((us, i) => us / base[i]);
    return {
      name: v.name,
      us: median(own),
      ratio: median(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
    };
  });
  console.log(`\n${title}`);
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(44)} ${row.us.toFixed(2).padStart(7)} µs  ${row.ratio.toFixed(2)}× (${row.min.toFixed(2)}–${row.max.toFixed(2)})`,
    );
  }
  return rows;
}

/** Server CPU µs per request over HTTP (node:http + @ittybit-webhooks/express), interleaved. */
async function httpCompare(title, variants) {
  const client = fork(fileURLToPath(import.meta.url), ['client'], { stdio: 'inherit' });
  const ask = (message) =>
    new Promise((resolve, reject) => {
      client.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      client.send(message);
    });
  const servers = [];
  for (const variant of variants) {
    const middleware = ittybitWebhook(variant.options());
    const server = http.createServer((req, res) => void middleware(req, res));
    // Idle while the other variants run: keep the client's connections open meanwhile.
    server.keepAliveTimeout = 600_000;
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ ...variant, server, port: server.address().port });
  }
  const times = new Map(variants.map((v) => [v.name, []]));
  for (let round = -1; round < HTTP_ROUNDS; round++) {
    for (const variant of shuffle(servers)) {
      await ask({ port: variant.port, round, count: HTTP_BATCH });
      globalThis.gc?.();
      const started = process.cpuUsage();
      await ask({ go: true });
      const used = process.cpuUsage(started);
      if (round >= 0) times.get(variant.name).push((used.user + used.system) / HTTP_BATCH);
    }
  }
  client.kill();
  for (const { server } of servers) {
    server.closeAllConnections();
    server.close();
  }
  return report(title, variants, times);
}

// --- the run ----------------------------------------------------------------------------------

async function main() {
  console.log(
    `observability cost per delivery: ${ROUNDS} rounds × ${BATCH} deliveries, receiver.handle() in-process, CPU µs per delivery, Node ${process.version}`,
  );
  const fresh = Array.from({ length: ROUNDS + 1 }, (_, i) => pool(BATCH, `f${i}`));
  const freshOf = (round) => fresh[round + 1];
  const noSdk = otelTelemetry(); // the API without a registered SDK: no-op tracer and meter
  const withSdk = sdk();
  const results = {};

  results.fresh = await compare(
    'Fresh deliveries (200 received), ratio to the plain receiver:',
    [
      { name: 'plain (logger: false)', make: () => receiver({}) },
      { name: 'onDelivery', make: () => receiver({ onDelivery: () => {} }) },
      { name: 'console-style logger', make: () => receiver({ logger: consoleLike() }) },
      { name: 'pino logger', make: () => receiver({ logger: pinoLogger() }) },
      { name: 'otelTelemetry(), API without SDK', make: () => receiver({ telemetry: noSdk }) },
      {
        name: 'otelTelemetry(), SDK spans + metrics',
        make: () => receiver({ telemetry: otelTelemetry(withSdk) }),
      },
      {
        name: 'deadLetters: MemoryDeadLetters',
        make: () => receiver({ deadLetters: new MemoryDeadLetters() }),
      },
      {
        name: 'all of them (onDelivery, pino, SDK, sink)',
        make: () =>
          receiver({
            onDelivery: () => {},
            logger: pinoLogger(),
            telemetry: otelTelemetry(withSdk),
            deadLetters: new MemoryDeadLetters(),
          }),
      },
    ],
    { deliveries: freshOf, status: 200 },
  );

  results.duplicates = await compare(
    'Duplicates (200 duplicate, one info line each), ratio to no logger:',
    [
      { name: 'plain (logger: false)', make: () => receiver({}) },
      { name: 'console-style logger', make: () => receiver({ logger: consoleLike() }) },
      { name: 'pino logger', make: () => receiver({ logger: pinoLogger() }) },
      {
        name: 'otelTelemetry(), SDK spans + metrics',
        make: () => receiver({ telemetry: otelTelemetry(withSdk) }),
      },
    ],
    {
      deliveries: freshOf,
      status: 200,
      prime: async (r, batch) => {
        for (const { body, headers } of batch) await r.handle({ method: 'POST', headers, body });
      },
    },
  );

  const failing = pool(Math.min(BATCH, 1_000), 'x');
  results.failures = await compare(
    'Handler throws (500, one error line each), ratio to no sink:',
    [
      { name: 'no sink', make: () => receiver({}, true) },
      {
        name: 'deadLetters: MemoryDeadLetters',
        make: () => receiver({ deadLetters: new MemoryDeadLetters() }, true),
      },
    ],
    { deliveries: () => failing, status: 500 },
  );

  results.http = await httpCompare(
    'Over HTTP (node:http + @ittybit-webhooks/express, 8 keep-alive connections), server CPU per request:',
    [
      { name: 'plain (logger: false)', options: () => receiverOptions({}) },
      { name: 'onDelivery', options: () => receiverOptions({ onDelivery: () => {} }) },
      { name: 'pino logger', options: () => receiverOptions({ logger: pinoLogger() }) },
      {
        name: 'otelTelemetry(), API without SDK',
        options: () => receiverOptions({ telemetry: noSdk }),
      },
      {
        name: 'otelTelemetry(), SDK spans + metrics',
        options: () => receiverOptions({ telemetry: otelTelemetry(withSdk) }),
      },
      {
        name: 'deadLetters: MemoryDeadLetters',
        options: () => receiverOptions({ deadLetters: new MemoryDeadLetters() }),
      },
      {
        name: 'all of them (onDelivery, pino, SDK, sink)',
        options: () =>
          receiverOptions({
            onDelivery: () => {},
            logger: pinoLogger(),
            telemetry: otelTelemetry(withSdk),
            deadLetters: new MemoryDeadLetters(),
          }),
      },
    ],
  );

  // Last: once AsyncLocalStorage is on, every promise of the process pays for it, so both sides of
  // this comparison run with it.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  results.propagation = await compare(
    'With the AsyncLocalStorage context manager on (as under @opentelemetry/sdk-node):',
    [
      { name: 'plain (logger: false)', make: () => receiver({}) },
      {
        name: 'otelTelemetry(), SDK spans + metrics',
        make: () => receiver({ telemetry: otelTelemetry(withSdk) }),
      },
    ],
    { deliveries: freshOf, status: 200 },
  );

  await withSdk.shutdown();
  trace.disable();
  metrics.disable();
  context.disable();
  if (delivered === 0) throw new Error('no handler ran');
  console.log(
    `\n${JSON.stringify({ rounds: ROUNDS, batch: BATCH, node: process.version, results })}`,
  );
}

if (process.argv[2] !== 'client') await main();
