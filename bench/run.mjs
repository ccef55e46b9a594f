// npm run bench: the receiver side by side with what it is compared against, each section in its
// own process. Writes BENCHMARKS.md, bench/http-ratios.svg and bench/results.json (BENCH_QUICK=1:
// a short run, written to a temporary folder instead). See BENCHMARKS.md for what each section
// measures.
//
//   BENCH_QUICK=1            everything small, in under a minute (CI: checks the bench runs)
//   BENCH_SECTIONS=a,b       only these of pipeline,verify,http,stores,memory; the others are
//                            kept from bench/results.json (none: only rewrite the report)
//   BENCH_WAIT_QUIET=300     before each section, wait up to 300 s for the 1-minute load < 1.0
//   BENCH_OUT=dir            where to write (default: the repository root; a temporary folder
//                            with BENCH_QUICK=1)
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpChart, markdown, NOTES_MARKER } from './lib/report.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const ALL = ['pipeline', 'verify', 'http', 'stores', 'memory'];
const MEASURED = ['core', 'express', 'fastify', 'koa', 'web', 'redis', 'postgres'].map(
  (name) => `packages/${name}/src`,
);
const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.env.BENCH_SECTIONS?.split(',')
  .map((s) => s.trim())
  .filter((s) => s && s !== 'none');
const sections = only ? ALL.filter((s) => only.includes(s)) : ALL;
const waitQuiet = Number(process.env.BENCH_WAIT_QUIET ?? 0);
const outDir = process.env.BENCH_OUT ?? (QUICK ? join(tmpdir(), 'ittybit-webhooks-bench') : root);
const benchDir = outDir === root ? join(root, 'bench') : outDir;

if (only && sections.length !== only.length) {
  console.error(`BENCH_SECTIONS: use names from ${ALL.join(', ')}`);
  process.exit(2);
}
if (!existsSync(join(root, 'packages/core/dist/index.js'))) {
  console.error('Build the packages first: npm run build (npm run bench does).');
  process.exit(2);
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

const here = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  memory: totalmem(),
  os: `${type()} ${release()}`,
  node: process.version,
  commit: `${git('rev-parse', '--short', 'HEAD') || 'unknown'}${git('status', '--porcelain', '--untracked-files=no', '--', ...MEASURED) ? ' (with uncommitted changes to the measured packages)' : ''}`,
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  load: loadavg()[0],
};
console.log(
  `ittybit-webhooks bench${QUICK ? ' (quick)' : ''}: ${here.cpus} × ${here.cpu}, Node ${here.node}, 1-minute load ${here.load.toFixed(2)}`,
);
if (here.load >= 1) {
  console.log(
    'The machine is busy (load ≥ 1.0): ratios will be noisier. BENCH_WAIT_QUIET=300 waits for a quiet moment.',
  );
}

async function quiet() {
  const until = Date.now() + waitQuiet * 1000;
  while (loadavg()[0] >= 1 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
}

function runSection(name) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL(`./sections/${name}.mjs`, import.meta.url)), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answer;
    child.on('message', (message) => {
      answer = message;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (answer?.result) resolve(answer.result);
      else
        reject(
          new Error(
            `section ${name} failed (exit ${code})${answer?.error ? `: ${answer.error}` : ''}`,
          ),
        );
    });
  });
}

const resultsFile = join(benchDir, 'results.json');
let results = {};
let machine = here;
if (only && existsSync(resultsFile)) {
  const saved = JSON.parse(readFileSync(resultsFile, 'utf8'));
  results = saved.results ?? {};
  // Rewriting the report alone keeps the machine line of the run it reports.
  if (sections.length === 0 && saved.machine) machine = saved.machine;
}
const started = Date.now();
let failed = false;
for (const name of sections) {
  if (waitQuiet) await quiet();
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const t0 = Date.now();
  try {
    const result = await runSection(name);
    results[name] = { ...result, date: at, seconds: (Date.now() - t0) / 1000 };
  } catch (error) {
    console.error(String(error));
    failed = true;
  }
}

mkdirSync(benchDir, { recursive: true });
const mdFile = join(outDir, 'BENCHMARKS.md');
let notes = '';
if (existsSync(mdFile)) {
  const previous = readFileSync(mdFile, 'utf8');
  const at = previous.indexOf(NOTES_MARKER);
  if (at !== -1) notes = previous.slice(at + NOTES_MARKER.length);
}
writeFileSync(resultsFile, `${JSON.stringify({ machine, results }, null, 2)}\n`);
writeFileSync(mdFile, markdown(results, machine, notes));
if (results.http) writeFileSync(join(benchDir, 'http-ratios.svg'), httpChart(results.http));
console.log(
  `\nWrote ${mdFile}${results.http ? `, ${join(benchDir, 'http-ratios.svg')}` : ''} and ${resultsFile} in ${((Date.now() - started) / 1000).toFixed(0)} s.`,
);
process.exit(failed ? 1 : 0);
