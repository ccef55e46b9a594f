#!/usr/bin/env node
// `npm run demo`: a real Express server with the Express adapter and the in-memory store, driven
// by the `ittybit-webhooks` command (the built CLI, as a user runs it) through every case of
// DESIGN.md's answer table that a sender can produce. Prints what the sender saw and what the
// handlers did; exits non-zero if any case was answered otherwise.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'packages/cli/dist/cli.js');
const verbose = process.argv.includes('--verbose');

for (const built of [cli, join(root, 'packages/express/dist/index.js')]) {
  if (!existsSync(built)) {
    console.error(`demo: ${built} is missing; run npm install (or npm run build) first.`);
    process.exit(1);
  }
}

const { default: express } = await import('express');
const { ittybitWebhook } = await import('@ittybit-webhooks/express');

const SECRET = 'whsec_demo_secret';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- The receiver: what a user writes. -------------------------------------------------------
/** Every handler call, in order: { taskId, handler, outcome }. */
const calls = [];
const logs = [];
let flakyFailures = 0;

const app = express();
app.post(
  '/webhooks/ittybit',
  ittybitWebhook({
    secret: SECRET,
    onSucceeded: async (task) => {
      const call = { taskId: task.id, handler: 'onSucceeded', outcome: 'ran' };
      calls.push(call);
      // Slow enough that a concurrent duplicate arrives while this one still holds the claim.
      if (task.metadata.case === 'concurrent') await sleep(400);
      if (task.metadata.case === 'flaky' && flakyFailures++ === 0) {
        call.outcome = 'threw';
        throw new Error('flaky handler: first attempt fails');
      }
    },
    onFailed: async (task) => {
      calls.push({ taskId: task.id, handler: 'onFailed', outcome: 'ran' });
    },
    logger: {
      error: (m) => logs.push(m),
      warn: (m) => logs.push(m),
      info: (m) => logs.push(m),
    },
  }),
);

const server = await new Promise((resolve, reject) => {
  const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)));
});
const url = `http://127.0.0.1:${server.address().port}/webhooks/ittybit`;

// --- The sender: the CLI, one process per case. ----------------------------------------------
function send(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, 'send', url, '--json', '--backoff-ms', '200', '--max-attempts', '5', ...args],
      { env: { PATH: process.env.PATH ?? '', ITTYBIT_WEBHOOK_SECRET: SECRET }, stdio: 'pipe' },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(stdout) });
      } catch {
        reject(new Error(`ittybit-webhooks exited ${code} without a report: ${stderr.trim()}`));
      }
    });
  });
}

const tmp = await mkdtemp(join(tmpdir(), 'ittybit-demo-'));
const oversized = join(tmp, 'oversized.json');
await writeFile(
  oversized,
  JSON.stringify({
    id: 'task_demo_oversized',
    status: 'succeeded',
    kind: 'video',
    metadata: { padding: 'x'.repeat(1_200_000) },
  }),
);

// DESIGN.md: a 503 always carries Retry-After; shown as `503` only when it does.
const answers = (d) =>
  d.attempts.map((a) =>
    a.status
      ? `${a.status}${a.duplicate ? ' dup' : ''}${a.status === 503 && !a.retryAfter ? ' (no Retry-After)' : ''}`
      : a.error,
  );
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Each case: CLI flags, what DESIGN.md says the sender sees and the handlers do, a check of the
 * per-delivery answer lists and of the handler calls, and the CLI's exit code (1: not all 2xx).
 */
const cases = [
  {
    name: 'success',
    args: ['--id', 'task_demo_success', '--metadata', 'case=success'],
    expected: '200; onSucceeded once',
    check: (seen, did) => same(seen, [['200']]) && same(did, ['onSucceeded ran']),
  },
  {
    name: 'failure',
    args: ['--id', 'task_demo_failure', '--status', 'failed', '--metadata', 'case=failure'],
    expected: '200; onFailed once',
    check: (seen, did) => same(seen, [['200']]) && same(did, ['onFailed ran']),
  },
  {
    name: 'duplicate',
    args: ['--id', 'task_demo_duplicate', '--times', '2', '--metadata', 'case=duplicate'],
    expected: '200, then 200 dup; handler once',
    check: (seen, did) => same(seen, [['200'], ['200 dup']]) && same(did, ['onSucceeded ran']),
  },
  {
    name: 'two concurrent duplicates',
    args: [
      ...['--id', 'task_demo_concurrent', '--times', '2', '--concurrency', '2'],
      ...['--metadata', 'case=concurrent'],
    ],
    expected: '200 | 503 retried to 200 dup; once',
    check: (seen, did) => {
      const sorted = [...seen].sort((a, b) => a.length - b.length);
      const [first, second] = sorted;
      return (
        same(first, ['200']) &&
        second.length > 1 &&
        second.slice(0, -1).every((s) => s === '503') &&
        second.at(-1) === '200 dup' &&
        same(did, ['onSucceeded ran'])
      );
    },
  },
  {
    name: 'forged signature',
    args: ['--id', 'task_demo_forged', '--secret', 'not_the_secret', '--metadata', 'case=forged'],
    expected: '401, not retried; no handler',
    exit: 1,
    check: (seen, did) => same(seen, [['401']]) && did.length === 0,
  },
  {
    name: 'oversized body (1.2 MB)',
    args: ['--payload', oversized],
    expected: '413, not retried; no handler',
    exit: 1,
    check: (seen, did) => same(seen, [['413']]) && did.length === 0,
  },
  {
    name: 'handler fails once',
    args: ['--id', 'task_demo_flaky', '--metadata', 'case=flaky'],
    expected: '500, retried to 200; ran twice',
    check: (seen, did) =>
      same(seen, [['500', '200']]) && same(did, ['onSucceeded threw', 'onSucceeded ran']),
  },
];

const rows = [];
let failures = 0;
try {
  for (const c of cases) {
    const { code, report } = await send(c.args);
    const seen = report.deliveries.map(answers);
    const did = calls
      .filter((call) => call.taskId === report.taskId)
      .map((call) => `${call.handler} ${call.outcome}`);
    const ok = c.check(seen, did) && code === (c.exit ?? 0);
    if (!ok) failures++;
    rows.push([
      c.name,
      seen.map((s) => s.join(' → ')).join(' | '),
      did.length ? did.join(', ') : '(not called)',
      c.expected,
      `exit ${code}`,
      ok ? 'ok' : 'WRONG',
    ]);
  }
} finally {
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
}

const header = [
  'case',
  'sender saw (per delivery)',
  'handlers did',
  'DESIGN.md says',
  'cli',
  'result',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  cells
    .map((cell, i) => cell.padEnd(widths[i]))
    .join('  ')
    .trimEnd();
console.log(
  `ittybit-webhooks demo: Express + @ittybit-webhooks/express (in-memory store) at ${url}`,
);
console.log('sender: the ittybit-webhooks CLI (retries 5xx with backoff, never 4xx)\n');
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  `\n${cases.length - failures} of ${cases.length} cases answered as DESIGN.md says; server stopped.`,
);
if (verbose) console.log(`\nreceiver log:\n${logs.map((l) => `  ${l}`).join('\n')}`);
process.exitCode = failures === 0 ? 0 : 1;
