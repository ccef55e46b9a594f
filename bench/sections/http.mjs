// 3. HTTP, per framework: the adapter vs a hand-written route in the same framework answering the
//    same JSON body. Each server runs in its own process; this process is the load generator
//    (autocannon, 32 connections, pre-generated 1 KB signed deliveries, each request the next
//    one, so every request is a delivery the server has not seen). Rounds are interleaved, one of
//    each per run, the first alternating (ours, hand-written; hand-written, ours; ...); each
//    run's ratio comes from its own two rounds.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { deliveryPool, sign } from '../lib/deliveries.mjs';
import { loadAverage, median, QUICK, spread } from '../lib/measure.mjs';
import { ratio, section } from '../lib/section.mjs';

const PATH = '/webhooks/ittybit';
const CONNECTIONS = 32;
const BYTES = 1024;
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? 'express,fastify,koa,web').split(',');
const RUNS = Number(process.env.BENCH_HTTP_RUNS ?? (QUICK ? 1 : 7));
const ROUND_S = Number(process.env.BENCH_HTTP_SECONDS ?? (QUICK ? 0.5 : 5));
const WARMUP_S = QUICK ? 0.3 : 3;
// Each server draws from its own half of the pool, in order: a delivery comes round to the same
// server again only after 20,000 others (twice the 10,000 keys both dedup stores keep), so every
// request is fresh to the server whatever the request rate (checked with the server's count).
const POOL = 40_000;
const HALF = POOL / 2;

const LABELS = {
  express: 'Express 5',
  fastify: 'Fastify 5',
  koa: 'Koa 3',
  web: 'Web adapter on Hono (node server)',
};

const serverScript = fileURLToPath(new URL('../http/server.mjs', import.meta.url));

function startServer(framework, variant) {
  const child = fork(serverScript, [], {
    // e.g. BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=prof" to profile the servers
    execArgv: process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [],
    env: { ...process.env, FRAMEWORK: framework, VARIANT: variant, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${framework}/${variant} exited with ${code}`)));
    child.once('message', (message) => {
      const stats = () =>
        new Promise((done) => {
          child.once('message', (m) => done(m.stats));
          child.send('stats');
        });
      resolve({ child, port: message.port, stats, variant });
    });
  });
}

async function stopServer(server) {
  server.child.removeAllListeners('exit');
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.disconnect();
  await exited;
}

/** What a server answers to a fresh delivery, its duplicate and a wrong signature. */
async function answers(port, body) {
  const url = `http://127.0.0.1:${port}${PATH}`;
  const post = async (signature) => {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'ittybit-signature': signature },
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };
  const fresh = await post(sign(body));
  const duplicate = await post(sign(body));
  const wrong = await post('0'.repeat(64));
  return { fresh, duplicate, wrong };
}

// The next delivery of each server's half of the pool.
const cursors = { ours: 0, hand: 0 };
let pool;

/** One round of load against `server`: requests per second, latency percentiles, CPU use. */
async function round(server, seconds) {
  const latencies = [];
  let ok = 0;
  let other = 0;
  const before = await server.stats();
  const clientCpu = process.cpuUsage();
  const startedAt = performance.now();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${server.port}`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: PATH,
            setupRequest(request) {
              const k = (cursors[server.variant]++ % HALF) + (server.variant === 'ours' ? 0 : HALF);
              request.body = pool.bodies[k];
              request.headers = {
                'content-type': 'application/json',
                'ittybit-signature': pool.signatures[k],
              };
              return request;
            },
          },
        ],
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status === 200) {
        ok += 1;
        latencies.push(ms);
      } else other += 1;
    });
  });
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(clientCpu);
  const after = await server.stats();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    rps: ok / (elapsedMs / 1000),
    p50: at(0.5),
    p99: at(0.99),
    ok,
    other,
    errors: result.errors,
    timeouts: result.timeouts,
    // Deliveries the server ran per 200 answer: 1 means none of them was taken as a duplicate.
    freshPerOk: ok ? (after.handled - before.handled) / ok : 0,
    clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
    serverCpu:
      (after.cpuUs.user + after.cpuUs.system - before.cpuUs.user - before.cpuUs.system) /
      1000 /
      (after.atMs - before.atMs),
    // Server CPU time per answered request: the cost per request, whatever else runs on the
    // machine (req/s and latency also depend on how much CPU the server was given).
    serverCpuUsPerOk: ok
      ? (after.cpuUs.user + after.cpuUs.system - before.cpuUs.user - before.cpuUs.system) / ok
      : 0,
    serverRssMb: after.rss / 1e6,
    // JS heap allocated by the server per answered request, and its GCs per 1,000 requests.
    allocatedPerOk: ok ? (after.allocated - before.allocated) / ok : 0,
    gcsPerKiloOk: ok ? ((after.gcs - before.gcs) * 1000) / ok : 0,
  };
}

section(async () => {
  const startLoad = await loadAverage();
  console.log(
    `\n3. HTTP: adapter vs a hand-written route in the same framework (${CONNECTIONS} connections, ${BYTES}-byte deliveries, ${RUNS} runs of ${ROUND_S} s rounds; load ${startLoad.toFixed(2)})`,
  );
  pool = deliveryPool(POOL, BYTES);
  const probe = deliveryPool(1, BYTES).bodies[0];
  const frameworks = [];
  for (const framework of FRAMEWORKS) {
    const load = await loadAverage();
    const ours = await startServer(framework, 'ours');
    const hand = await startServer(framework, 'hand');
    try {
      const oursAnswers = await answers(ours.port, probe);
      const handAnswers = await answers(hand.port, probe);
      const sameBody =
        oursAnswers.fresh.status === 200 &&
        handAnswers.fresh.status === 200 &&
        oursAnswers.fresh.body === handAnswers.fresh.body;
      await round(ours, WARMUP_S);
      await round(hand, WARMUP_S);
      const runs = [];
      for (let r = 0; r < RUNS; r++) {
        // Who goes first alternates (ours, hand-written; hand-written, ours; ...), so that a drift
        // in the machine's speed during a run does not always count against the same side.
        const handFirst = r % 2 === 1;
        const b0 = handFirst ? await round(hand, ROUND_S) : undefined;
        const a = await round(ours, ROUND_S);
        const b = b0 ?? (await round(hand, ROUND_S));
        runs.push({
          ours: a,
          hand: b,
          rps: a.rps / b.rps,
          p99: a.p99 / b.p99,
          cpu: a.serverCpuUsPerOk / b.serverCpuUsPerOk,
        });
      }
      const result = {
        framework,
        label: LABELS[framework],
        load,
        answers: { ours: oursAnswers, hand: handAnswers },
        sameBody,
        rps: spread(runs.map((r) => r.rps)),
        p99: spread(runs.map((r) => r.p99)),
        cpu: spread(runs.map((r) => r.cpu)),
        ours: {
          rps: median(runs.map((r) => r.ours.rps)),
          p99: median(runs.map((r) => r.ours.p99)),
          cpuUs: median(runs.map((r) => r.ours.serverCpuUsPerOk)),
          allocatedBytes: median(runs.map((r) => r.ours.allocatedPerOk)),
          gcsPerKilo: median(runs.map((r) => r.ours.gcsPerKiloOk)),
        },
        hand: {
          rps: median(runs.map((r) => r.hand.rps)),
          p99: median(runs.map((r) => r.hand.p99)),
          cpuUs: median(runs.map((r) => r.hand.serverCpuUsPerOk)),
          allocatedBytes: median(runs.map((r) => r.hand.allocatedPerOk)),
          gcsPerKilo: median(runs.map((r) => r.hand.gcsPerKiloOk)),
        },
        runs,
      };
      frameworks.push(result);
      const pct = (s) =>
        `${(s.median * 100).toFixed(0)}% (${(s.min * 100).toFixed(0)}–${(s.max * 100).toFixed(0)})`;
      console.log(
        `   ${result.label.padEnd(34)} req/s ${pct(result.rps).padEnd(16)} p99 ${ratio(result.p99).padEnd(20)} server CPU/request ${ratio(result.cpu).padEnd(20)} ours ${result.ours.rps.toFixed(0)} req/s, p99 ${result.ours.p99.toFixed(2)} ms, ${result.ours.cpuUs.toFixed(0)} µs CPU; hand-written ${result.hand.rps.toFixed(0)} req/s, p99 ${result.hand.p99.toFixed(2)} ms, ${result.hand.cpuUs.toFixed(0)} µs CPU (load ${load.toFixed(2)})`,
      );
      const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
      console.log(
        `   ${''.padEnd(34)} JS heap allocated per request: ours ${kb(result.ours.allocatedBytes)} (${result.ours.gcsPerKilo.toFixed(2)} GCs per 1,000), hand-written ${kb(result.hand.allocatedBytes)} (${result.hand.gcsPerKilo.toFixed(2)})`,
      );
      const odd = runs.flatMap((r) => [r.ours, r.hand]).filter((x) => x.freshPerOk < 0.999);
      if (odd.length) console.log(`   warning: some 200s were not fresh deliveries`);
      if (!sameBody) console.log('   warning: the two routes do not answer the same body');
    } finally {
      await stopServer(ours);
      await stopServer(hand);
    }
  }
  return {
    load: startLoad,
    connections: CONNECTIONS,
    bytes: BYTES,
    runs: RUNS,
    roundSeconds: ROUND_S,
    warmupSeconds: WARMUP_S,
    frameworks,
  };
});
