// The CLI against the real receiver: an Express server with @ittybit-webhooks/express and the
// in-memory store on 127.0.0.1, driven through runCli as a user drives the command.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryResult, runCli, sendDelivery } from '../src/index.js';
import { captureIo, listenExpress, startReceiver } from './server.js';

const SECRET = 'whsec_cli_receiver';
const FAST = ['--backoff-ms', '20', '--max-backoff-ms', '100'];

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let consumed: Awaited<ReturnType<typeof listenExpress>>;
let endpoint = '';
let handled: string[] = [];

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  endpoint = receiver.url;
  handled = receiver.handled;
  // The most common mistake: a global JSON parser in front of the webhook route.
  const app = express();
  app.use(express.json());
  app.post(
    '/webhooks/ittybit',
    ittybitWebhook({ secret: SECRET, logger: false, onSucceeded() {}, onFailed() {} }),
  );
  consumed = await listenExpress(app);
});

afterAll(async () => {
  await receiver?.close();
  await consumed?.close();
});

async function run(args: string[]) {
  const capture = captureIo();
  // Flags given by a test come last, so they win over these defaults.
  const code = await runCli(['send', '--secret', SECRET, ...FAST, ...args], capture.io);
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

async function runJson(args: string[]) {
  const result = await run([...args, '--json']);
  const report = JSON.parse(result.stdout) as {
    ok: boolean;
    topic?: string;
    eventId?: string;
    taskId: string;
    deliveries: DeliveryResult[];
  };
  return { ...result, report };
}

const answers = (d: DeliveryResult) =>
  d.attempts.map((a) => `${a.status}${a.duplicate ? ' dup' : ''}`);

describe('every topic reaches its handler', () => {
  it.each([
    ['task.created', 'task.created'],
    ['task.updated', 'task.updated'],
    ['task.succeeded', 'onSucceeded'],
    ['task.failed', 'onFailed'],
    ['run.created', 'run.created'],
    ['run.updated', 'run.updated'],
    ['run.succeeded', 'run.succeeded'],
    ['run.failed', 'run.failed'],
  ])('--topic %s: 200, %s ran once with the event id', async (topic, handler) => {
    const { code, report } = await runJson([endpoint, '--topic', topic]);
    expect(code).toBe(0);
    expect(report.deliveries.map(answers)).toEqual([['200']]);
    expect(handled.filter((h) => h.includes(` ${report.eventId}`))).toEqual([
      `${handler} ${report.taskId} ${report.eventId}`,
    ]);
  });

  it('a run never reaches onSucceeded or onFailed', () => {
    expect(handled.filter((h) => h.startsWith('on') && h.includes(' run_'))).toEqual([]);
  });

  it('the older shapes still reach onSucceeded / onFailed, without an event', async () => {
    const task = await runJson([endpoint, '--shape', 'task', '--status', 'failed']);
    const job = await runJson([endpoint, '--shape', 'job']);
    expect([task.code, job.code]).toEqual([0, 0]);
    expect(handled).toContain(`onFailed ${task.report.taskId} -`);
    expect(handled).toContain(`onSucceeded ${job.report.taskId} -`);
  });
});

describe('dedup by event', () => {
  it('two task.updated events of one task both run', async () => {
    for (let i = 0; i < 2; i++) {
      const { code } = await run([endpoint, '--topic', 'task.updated', '--id', 'task_twice']);
      expect(code).toBe(0);
    }
    expect(handled.filter((h) => h.startsWith('task.updated task_twice '))).toHaveLength(2);
  });

  it('a redelivered event (--event-id, a later run) is a duplicate: 200 dup, not run again', async () => {
    const args = [endpoint, '--topic', 'run.succeeded', '--event-id', 'evt_cli_redelivered'];
    const first = await runJson(args);
    const again = await run(args);
    expect(first.report.deliveries.map(answers)).toEqual([['200']]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/ 200 dup$/m);
    expect(handled.filter((h) => h.endsWith(' evt_cli_redelivered'))).toHaveLength(1);
  });

  it('concurrent duplicates: one handler run, the other 503 then 200 dup', async () => {
    const { code, report, stdout } = await runJson([
      endpoint,
      '--metadata',
      'slow=yes',
      '--backoff-ms',
      '150',
      '--times',
      '2',
      '--concurrency',
      '2',
    ]);
    expect(code, stdout).toBe(0);
    expect(handled.filter((h) => h.endsWith(` ${report.eventId}`))).toHaveLength(1);
    const seen = report.deliveries.map(answers).sort((a, b) => a.length - b.length);
    expect(seen[0]).toEqual(['200']);
    expect(seen[1]![0]).toBe('503');
    expect(seen[1]!.at(-1)).toBe('200 dup');
    const busy = report.deliveries.flatMap((d) => d.attempts).find((a) => a.status === 503)!;
    expect(busy.retryAfter).toMatch(/^\d+$/);
  });
});

describe('answers and their reasons, as printed without --json', () => {
  it('a handler that fails once: 500 handler_failed, then 200 on the retry', async () => {
    const { code, stdout } = await run([endpoint, '--metadata', 'flaky=yes']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ 500 handler_failed → 200$/m);
  });

  it('a wrong secret: 401 unauthorized, not retried', async () => {
    const capture = captureIo();
    const code = await runCli(['send', endpoint, '--secret', 'forged', ...FAST], capture.io);
    expect(code).toBe(1);
    expect(capture.stdout()).toMatch(/ 1\s+401\s+\d+ ms\s+401 unauthorized$/m);
  });

  it('a JSON parser in front of the route: 500 body_consumed on every attempt', async () => {
    const { code, stdout } = await run([consumed.url, '--max-attempts', '2']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/ 500 body_consumed → 500 body_consumed$/m);
  });

  it('an oversized body gets its 413 answer, not retried', async () => {
    const body = JSON.stringify({
      id: 'task_big',
      status: 'succeeded',
      kind: 'video',
      pad: 'x'.repeat(1_100_000),
    });
    const result = await sendDelivery({ url: endpoint, body, secret: SECRET, backoffMs: 10 });
    expect(result.status).toBe(413);
    expect(result.attempts).toHaveLength(1);
  });

  it('reports an answer sent before the body was read (413), not the write error after it', async () => {
    const early = http.createServer((req, res) => {
      res.writeHead(413, { connection: 'close', 'content-type': 'application/json' });
      res.end('{"error":"payload_too_large"}', () => req.socket.destroy());
    });
    await new Promise<void>((resolve) => early.listen(0, '127.0.0.1', resolve));
    try {
      const port = (early.address() as AddressInfo).port;
      for (let i = 0; i < 3; i++) {
        const result = await sendDelivery({
          url: `http://127.0.0.1:${port}/`,
          body: 'x'.repeat(8 * 1024 * 1024),
          secret: SECRET,
          backoffMs: 10,
        });
        expect(result.attempts.map((a) => a.status ?? a.error)).toEqual([413]);
      }
    } finally {
      early.closeAllConnections();
      await new Promise<void>((resolve) => early.close(() => resolve()));
    }
  });
});
