#!/usr/bin/env node
// `npm run demo`: a real Express server with the Express adapter and the in-memory store, driven
// by the `ittybit-webhooks` command (the built CLI, as a user runs it) through every case of the
// answer table in docs/design.md that a sender can produce: events of several topics, a run,
// duplicates and redeliveries, refusals and a failing handler. Prints what the sender saw and what
// the handlers did; exits non-zero if any case was answered otherwise.
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
/** Every handler call, in order: { id, eventId, handler, outcome }. */
const calls = [];
const logs = [];
let flakyFailures = 0;

/** A handler that records its call; `metadata.case` makes it slow or fail once. */
const handler = (name) => async (payload, ctx) => {
  const call = { id: payload.id, eventId: ctx.event?.id, handler: name, outcome: 'ran', ctx };
  calls.push(call);
  // Slow enough that a concurrent duplicate arrives while this one still holds the claim.
  if (payload.metadata.case === 'concurrent') await sleep(400);
  if (payload.metadata.case === 'flaky' && flakyFailures++ === 0) {
    call.outcome = 'threw';
    throw new Error('flaky handler: first attempt fails');
  }
};

const app = express();
app.post(
  '/webhooks/ittybit',
  ittybitWebhook({
    secret: SECRET,
    // Finished tasks.
    onSucceeded: handler('onSucceeded'),
    onFailed: handler('onFailed'),
    // Every other topic this endpoint subscribes to, by topic.
    on: {
      'task.updated': handler("on['task.updated']"),
      'run.succeeded': handler("on['run.succeeded']"),
      'run.failed': handler("on['run.failed']"),
    },
    logger: {
      error: (m) => logs.push(m),
      warn: (m) => logs.push(m),
      info: (m) => logs.push(m),
      debug: (m) => logs.push(m),
    },
  }),
);

const server = await new Promise((resolve, reject) => {
  const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)));
});
const url = `http://127.0.0.1:${server.address().port}/webhooks/ittybit`;

// --- The sender: the CLI, one process per send. ----------------------------------------------
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
// Signed correctly, but not JSON: the receiver can never read it, so the answer is final.
const broken = join(tmp, 'broken.json');
await writeFile(broken, '{"id":"evt_demo_broken","object":"event","kind":"task.succ');

/** One answer as the CLI prints it: status, the body's error code, `dup` for a duplicate. */
function describe(attempt) {
  if (!attempt.status) return attempt.error;
  let code;
  try {
    code = JSON.parse(attempt.body ?? '').error;
  } catch {}
  const parts = [String(attempt.status)];
  if (typeof code === 'string') parts.push(code);
  if (attempt.duplicate) parts.push('dup');
  // docs/design.md: a 503 always carries Retry-After; flagged when it does not.
  if (attempt.status === 503 && !attempt.retryAfter) parts.push('(no Retry-After)');
  return parts.join(' ');
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Each case: one or more sends (CLI flags), what the answer table says the sender sees and the
 * handlers do, a check of the answers per delivery and of the handler calls, and the CLI's exit
 * code (1: not all 2xx).
 */
const cases = [
  {
    name: 'task.succeeded event',
    sends: [['--id', 'task_demo_success', '--metadata', 'case=success']],
    expected: '200; onSucceeded once',
    check: (seen, did) => same(seen, [['200']]) && same(did, ['onSucceeded ran']),
  },
  {
    name: 'task.failed event',
    sends: [['--topic', 'task.failed', '--id', 'task_demo_failure', '--metadata', 'case=failure']],
    expected: '200; onFailed once',
    check: (seen, did) => same(seen, [['200']]) && same(did, ['onFailed ran']),
  },
  {
    name: 'run.succeeded event',
    sends: [['--topic', 'run.succeeded', '--id', 'run_demo_run', '--metadata', 'case=run']],
    expected: "200; on['run.succeeded'] once",
    check: (seen, did) => same(seen, [['200']]) && same(did, ["on['run.succeeded'] ran"]),
  },
  {
    name: 'two task.updated events',
    sends: [
      ['--topic', 'task.updated', '--id', 'task_demo_progress', '--metadata', 'case=updates'],
      ['--topic', 'task.updated', '--id', 'task_demo_progress', '--metadata', 'case=updates'],
    ],
    expected: "200 | 200; on['task.updated'] twice",
    check: (seen, did, { eventIds, calledWith }) =>
      same(seen, [['200'], ['200']]) &&
      same(did, ["on['task.updated'] ran", "on['task.updated'] ran"]) &&
      eventIds[0] !== eventIds[1] &&
      same(calledWith, eventIds),
  },
  {
    name: 'redelivered event',
    // The same event id in two runs of the CLI: the sender delivering one event again.
    sends: [1, 2].map(() => [
      ...['--id', 'task_demo_redelivered', '--event-id', 'evt_demo_redelivered'],
      ...['--metadata', 'case=redelivered'],
    ]),
    expected: '200 | 200 dup; handler once',
    check: (seen, did) => same(seen, [['200'], ['200 dup']]) && same(did, ['onSucceeded ran']),
  },
  {
    name: 'two concurrent duplicates',
    sends: [
      [
        ...['--id', 'task_demo_concurrent', '--times', '2', '--concurrency', '2'],
        ...['--metadata', 'case=concurrent'],
      ],
    ],
    expected: '200 | 503 retried to 200 dup; once',
    check: (seen, did) => {
      const [first, second] = [...seen].sort((a, b) => a.length - b.length);
      return (
        same(first, ['200']) &&
        second.length > 1 &&
        second.slice(0, -1).every((s) => s === '503 in_progress') &&
        second.at(-1) === '200 dup' &&
        same(did, ['onSucceeded ran'])
      );
    },
  },
  {
    name: 'forged signature',
    sends: [
      ['--id', 'task_demo_forged', '--secret', 'not_the_secret', '--metadata', 'case=forged'],
    ],
    expected: '401, not retried; no handler',
    exit: 1,
    check: (seen, did) => same(seen, [['401 unauthorized']]) && did.length === 0,
  },
  {
    name: 'signed, not JSON',
    sends: [['--payload', broken]],
    expected: '400, not retried; no handler',
    exit: 1,
    check: (seen, did) => same(seen, [['400 invalid_payload']]) && did.length === 0,
  },
  {
    name: 'oversized body (1.2 MB)',
    sends: [['--payload', oversized]],
    expected: '413, not retried; no handler',
    exit: 1,
    check: (seen, did) => same(seen, [['413 payload_too_large']]) && did.length === 0,
  },
  {
    name: 'handler fails once',
    sends: [['--id', 'task_demo_flaky', '--metadata', 'case=flaky']],
    expected: '500, retried to 200; ran twice',
    check: (seen, did) =>
      same(seen, [['500 handler_failed', '200']]) &&
      same(did, ['onSucceeded threw', 'onSucceeded ran']),
  },
];

const rows = [];
let failures = 0;
try {
  for (const c of cases) {
    const seen = [];
    const codes = [];
    const eventIds = [];
    const ids = new Set();
    for (const args of c.sends) {
      const { code, report } = await send(args);
      codes.push(code);
      if (report.eventId) eventIds.push(report.eventId);
      ids.add(report.taskId);
      for (const delivery of report.deliveries) seen.push(delivery.attempts.map(describe));
    }
    const mine = calls.filter((call) => ids.has(call.id));
    const did = mine.map((call) => `${call.handler} ${call.outcome}`);
    const calledWith = mine.map((call) => call.eventId);
    const ok =
      c.check(seen, did, { eventIds, calledWith }) && codes.every((code) => code === (c.exit ?? 0));
    if (!ok) failures++;
    rows.push([
      c.name,
      seen.map((s) => s.join(' → ')).join(' | '),
      did.length ? did.join(', ') : '(not called)',
      c.expected,
      `exit ${[...new Set(codes)].join(',')}`,
      ok ? 'ok' : 'WRONG',
    ]);
  }
} finally {
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
}

const header = ['case', 'sender saw (per delivery)', 'handlers did', 'expected', 'cli', 'result'];
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
const first = calls.find((call) => call.id === 'task_demo_success');
if (first) {
  const { event, topic, key } = first.ctx;
  console.log(
    `The CLI sends event envelopes by default: {"id":"evt_…","object":"event","kind":<topic>,"data":{…},"created_at":…}\n(--shape task|job send the older bare shapes). The first case reached onSucceeded with\n  ctx.topic ${topic}, ctx.event.id ${event?.id}, ctx.key ${key} (the event id is the dedup key)\n`,
  );
}
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  `\n${cases.length - failures} of ${cases.length} cases answered as docs/design.md says; server stopped.`,
);
if (verbose) console.log(`\nreceiver log:\n${logs.map((l) => `  ${l}`).join('\n')}`);
process.exitCode = failures === 0 ? 0 : 1;
