// npm run bench:instructions: the same comparisons as `npm run bench`, counted in instructions
// rather than CPU time. On a shared machine CPU time moves by more than the targets' margins from
// one minute to the next; an instruction count does not. Each case runs under
// `valgrind --tool=callgrind` with `node --predictable` (compilation and GC on the main thread, so
// they are counted too), warms up, zeroes the counters, runs a fixed number of deliveries and
// reads the total. Needs valgrind (Debian: `apt-get install valgrind`); takes about 10 minutes.
//
//   BENCH_INSTR=pipeline,http   only these parts (default both)
//   BENCH_INSTR_N=4000          requests counted per HTTP case, after 6× as many to warm up (the
//                               pipeline counts 2.5× as many, after 25,000)
//   BENCH_INSTR_FRAMEWORKS=koa  only these HTTP servers (default express,fastify,koa,web)
//   BENCH_INSTR_KEEP=dir        keep each case's callgrind dump in dir, for callgrind_annotate
//
// Each ratio is given twice: of all instructions, and of all but those in V8's garbage collector
// (whether a full collection lands inside the counted window moves a total by up to 10%).
//
// What it does not see: cache misses and memory stalls (a bigger store costs more time than its
// instructions say). Read it next to the CPU-time tables, not instead of them.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deliveryPool } from './lib/deliveries.mjs';

const PARTS = (process.env.BENCH_INSTR ?? 'pipeline,http').split(',');
// HTTP: the warm-up (6 × N = 24,000 requests) takes every store well past its 10,000-key bound,
// so the eviction code is compiled before counting starts. With 12,000 it was compiled inside the
// counted window, which added up to 30k instructions per request to one side.
const N = Number(process.env.BENCH_INSTR_N ?? 4000);
const FRAMEWORKS = (process.env.BENCH_INSTR_FRAMEWORKS ?? 'express,fastify,koa,web').split(',');
const KEEP = process.env.BENCH_INSTR_KEEP;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('bench:instructions needs valgrind (Debian: apt-get install valgrind).');
  process.exit(1);
}

// V8's garbage collector, by the names of its C++ functions (marking, sweeping, scavenging,
// evacuating, write barriers).
const GC =
  /Marking|Sweep|Evacuat|Scaveng|RecordWrite|MarkCompact|BodyDescriptor|LiveObjectRange|RememberedSet|Worklist|WriteBarrier|RecordMigrated|SizeFromMap|Pretenuring|GetHeaderSize|UsedInstanceSize|CppMarking|CppHeap|ShouldVisit|IterateObjectCache|Compaction|heap::base/;

/**
 * The instructions a callgrind dump spent in the garbage collector's own functions. Whether a
 * full collection lands inside the counted window moves a total by up to 10%; the count without
 * GC is the steady part. Self cost only: the cost line after a `calls=` line is the callee's
 * inclusive cost, already counted in the callee.
 */
function gcInstructions(text) {
  let gc = 0;
  let inGc = false;
  let afterCall = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      inGc = GC.test(line);
      afterCall = false;
    } else if (line.startsWith('calls=')) {
      afterCall = true;
    } else if (/^[0-9+*-]/.test(line)) {
      if (afterCall) afterCall = false;
      else if (inGc) gc += Number(line.split(' ')[1] ?? 0);
    }
  }
  return gc;
}

/**
 * Starts `script` under callgrind (counting off until zeroed), hands it to `drive`, and answers
 * the instructions counted between `zero()` and `dump()`.
 */
async function counted(script, env, drive, label) {
  const dir = mkdtempSync(join(tmpdir(), 'ittybit-instr-'));
  const child = spawn(
    'valgrind',
    [
      '-q',
      '--tool=callgrind',
      // Names written out in full in every dump: each dump reads on its own (kept, or split
      // into GC and the rest below).
      '--compress-strings=no',
      '--compress-pos=no',
      `--callgrind-out-file=${join(dir, 'cg.out')}`,
      process.execPath,
      '--predictable',
      script,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const control = (flag) =>
    execFileSync('callgrind_control', [flag, String(child.pid)], { stdio: 'ignore' });
  try {
    await drive(child, {
      zero: () => control('-z'),
      dump: () => control('-d'),
    });
    const total = { all: 0, gc: 0 };
    for (const file of readdirSync(dir)) {
      if (file === 'cg.out') continue; // the part before the counters were zeroed
      const text = readFileSync(join(dir, file), 'utf8');
      const match = text.match(/^(?:summary|totals): (\d+)/m);
      if (match) total.all += Number(match[1]);
      total.gc += gcInstructions(text);
      if (KEEP) {
        mkdirSync(KEEP, { recursive: true });
        copyFileSync(join(dir, file), join(KEEP, `${label}.${file}`));
      }
    }
    return total;
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions per call of one pipeline case (see bench/lib/instructions-loop.mjs). */
async function pipelineCase(name, calls) {
  const total = await counted(
    here('./lib/instructions-loop.mjs'),
    { INSTR_CASE: name, INSTR_CALLS: String(calls) },
    (child, { zero, dump }) =>
      new Promise((resolve, reject) => {
        child.on('message', (message) => {
          if (message === 'warm') {
            zero();
            child.send('go');
          } else if (message === 'done') {
            dump();
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
      }),
    name,
  );
  return per(total, calls);
}

/** Instructions per delivery: all of them, and all but the garbage collector's. */
function per(total, n) {
  return { all: total.all / n, rest: (total.all - total.gc) / n };
}

/** Instructions per request of one HTTP server (bench/http/server.mjs), 4 connections. */
async function httpCase(framework, variant, warm, n) {
  const pool = deliveryPool(warm + n, 1024);
  const total = await counted(
    here('./http/server.mjs'),
    { FRAMEWORK: framework, VARIANT: variant, NODE_ENV: 'production' },
    async (child, { zero, dump }) => {
      const { port } = await new Promise((resolve) => child.once('message', resolve));
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      let next = 0;
      const post = () =>
        new Promise((resolve, reject) => {
          const k = next++;
          const req = http.request(
            {
              host: '127.0.0.1',
              port,
              path: '/webhooks/ittybit',
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'ittybit-signature': pool.signatures[k],
                'content-length': pool.bodies[k].length,
              },
            },
            (res) => {
              res.resume();
              res.on('end', () =>
                res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
              );
            },
          );
          req.on('error', reject);
          req.end(pool.bodies[k]);
        });
      const send = async (count) => {
        let left = count;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (left-- > 0) await post();
          }),
        );
      };
      await send(warm);
      zero();
      await send(n);
      dump();
      agent.destroy();
    },
    `${framework}-${variant}`,
  );
  return per(total, n);
}

const k = (x) => `${(x / 1000).toFixed(1)}k`;
/** The ratio of all instructions, then of all but the GC's (and those counts). */
const ratio = (ours, base) =>
  `${(ours.all / base.all).toFixed(2)}×   without GC ${k(ours.rest)} vs ${k(base.rest)}  ${(ours.rest / base.rest).toFixed(2)}×`;

if (PARTS.includes('pipeline')) {
  const calls = Math.round(N * 2.5);
  console.log(`Pipeline, instructions per 1 KB delivery (${calls} counted after 25000 warm-up)`);
  const floor = await pipelineCase('floor', calls);
  const floorSet = await pipelineCase('floorSet', calls);
  for (const [name, label, base, baseLabel] of [
    ['verify', 'receiver.verify()', floor, 'floor'],
    ['off', 'handle(), dedup off', floor, 'floor'],
    ['memory', 'handle(), MemoryStore', floorSet, 'floor + Set'],
  ]) {
    const ours = await pipelineCase(name, calls);
    console.log(
      `   ${label.padEnd(24)} ${k(ours.all).padStart(8)} vs ${baseLabel.padEnd(12)} ${k(base.all).padStart(8)}  ${ratio(ours, base)}`,
    );
  }
}

if (PARTS.includes('http')) {
  const warm = N * 6;
  console.log(
    `HTTP, instructions per request of the server (${N} counted after ${warm} warm-up; 4 connections)`,
  );
  for (const framework of FRAMEWORKS) {
    const [ours, hand] = await Promise.all([
      httpCase(framework, 'ours', warm, N),
      httpCase(framework, 'hand', warm, N),
    ]);
    console.log(
      `   ${framework.padEnd(8)} ours ${k(ours.all).padStart(8)}  hand-written ${k(hand.all).padStart(8)}  ${ratio(ours, hand)}`,
    );
  }
}
