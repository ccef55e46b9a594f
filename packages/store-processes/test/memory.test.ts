// Fault suite, MemoryStore: (e) the minimal form of the original report, in one process: a
// MemoryStore whose complete throws once, leaseMs 300. Row (e) of docs/reliability.md.
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createReceiver, MemoryStore } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
import { planTasks, readLedger, send, type TaskPlan } from '@ittybit-webhooks/store-processes';
import { describe, expect, it } from 'vitest';
import {
  addRow,
  describeFailures,
  expectExactlyOnce,
  plan,
  SECRET,
  sleep,
  storeErrors,
  workDir,
} from './suite.js';

const dir = workDir('memory');

/** A MemoryStore whose first `complete` of each key throws (a store blip). */
class CompleteFailsOnce extends MemoryStore {
  readonly failed = new Set<string>();
  override complete(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if (!this.failed.has(key)) {
      this.failed.add(key);
      return Promise.reject(new Error('connection reset while completing'));
    }
    return super.complete(key, owner, ttlMs);
  }
}

describe('MemoryStore in one process', () => {
  it('(e) complete throws once for every key, leaseMs 300: the report sequence, then 150 tasks; 0 lost, 0 run twice', async () => {
    const started = Date.now();
    const ledgerDir = join(dir, 'complete-once');
    mkdirSync(ledgerDir, { recursive: true });
    const ledger = openSync(join(ledgerDir, 'in-process.log'), 'a');
    const write = (line: string) => writeSync(ledger, `${line} @${Date.now()}\n`);

    // The handler of the receiver processes (fault-receiver.mjs), in this process.
    const handle = async (
      task: { metadata?: unknown },
      ctx: { key: string; headers: Record<string, string>; signal: AbortSignal },
    ) => {
      const metadata = (task.metadata ?? {}) as Partial<TaskPlan>;
      if (metadata.flaky && ctx.headers['x-fault-attempt'] === '1') {
        write(`throw ${ctx.key}`);
        throw new Error('first attempt fails on purpose');
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, metadata.workMs ?? 50);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
      ctx.signal.throwIfAborted();
      write(`done ${ctx.key}`);
    };
    const store = new CompleteFailsOnce();
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: handle,
      onFailed: handle,
      idempotency: { store, leaseMs: 300, timeoutMs: 75 },
      retryAfterSeconds: 1,
      logger: { error: (m) => write(`log ${m}`), warn: (m) => write(`log ${m}`) },
      onError: (_error, info) => write(`error ${info.phase} ${info.key}`),
    });
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = await receiver.handle({
        method: req.method ?? 'GET',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      // The report's sequence: delivery 1 runs and its complete throws; delivery 2 arrives while
      // it runs (503); delivery 3 arrives after the lease would have lapsed: a duplicate now.
      const event = createTestEvent('task.succeeded', { metadata: { workMs: 100 } });
      const { body, headers } = await createTestDelivery(event, SECRET);
      const post = () => fetch(url, { method: 'POST', headers, body });
      const first = post();
      await sleep(30);
      const second = await post();
      const firstAnswer = await first;
      await sleep(400);
      const third = await post();
      expect([firstAnswer.status, second.status, third.status]).toEqual([200, 503, 200]);
      expect(third.headers.get('ittybit-webhook-duplicate')).toBe('true');

      // Then 150 tasks × 3 copies, every complete failing once, handlers up to twice the lease.
      // The sender shares this event loop: fewer tasks in flight, so its own work does not hold
      // up the 75 ms renewals of a 300 ms lease (the delay is measured and printed).
      const tasks = 150;
      const planned = await planTasks(tasks, SECRET, plan('e', 0, 600));
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const counts = await send({
        urls: () => [url],
        tasks: planned,
        concurrency: 5,
        deadlineMs: 60_000,
      });
      lag.disable();
      const redelivery = await send({
        urls: () => [url],
        tasks: planned,
        copies: 1,
        concurrency: 10,
        deadlineMs: 30_000,
      });
      await receiver.drain();
      const summary = readLedger(ledgerDir, [event.id, ...planned.map((task) => task.key)]);
      addRow({
        order: 9,
        fault: '(e) complete throws once per key; leaseMs 300, timeoutMs 75 (in one process)',
        store: 'MemoryStore',
        asserted: true,
        tasks: tasks + 1,
        copies: 3,
        requests: counts.requests + redelivery.requests + 3,
        failures: describeFailures(counts),
        runs: summary.runs,
        lost: summary.lost.length,
        twice: summary.doubled.length,
        rerun: redelivery.ok - redelivery.duplicates,
        evidence: `${store.failed.size} completes failed once${storeErrors(summary)}; event loop delay max ${Math.round(lag.max / 1e6)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms`,
        seconds: Math.round((Date.now() - started) / 100) / 10,
      });
      expectExactlyOnce({ counts, redelivery, ledger: summary, stderr: '' }, tasks + 1, tasks);
      expect(summary.storeErrors.complete).toBe(tasks + 1);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('(e) a handler that holds the event loop past the 300 ms lease, then complete throws once: the late complete lands, a redelivery is a duplicate', async () => {
    // 400 ms of synchronous work at the end of the handler: no renewal runs meanwhile, so the
    // lease lapses on the store's clock. Nobody claims the key in between, so the store accepts
    // the retried complete; the redelivery must find the key completed.
    let runs = 0;
    const logs: string[] = [];
    const handle = async () => {
      await sleep(10);
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // synchronous work
      }
      runs++;
    };
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: handle,
      onFailed: handle,
      idempotency: { store: new CompleteFailsOnce(), leaseMs: 300, timeoutMs: 75 },
      logger: { error: (m) => logs.push(m), warn: (m) => logs.push(m) },
    });
    const { body, headers } = await createTestDelivery(createTestEvent('task.succeeded'), SECRET);
    const first = await receiver.handle({ method: 'POST', headers, body });
    const again = await receiver.handle({ method: 'POST', headers, body });
    addRow({
      order: 10,
      fault:
        '(e) as above, the handler holding the event loop 400 ms past the lease, then a redelivery',
      store: 'MemoryStore',
      asserted: true,
      tasks: 1,
      copies: 1,
      requests: 2,
      failures: 'none',
      runs,
      lost: runs === 0 ? 1 : 0,
      twice: runs > 1 ? 1 : 0,
      rerun: again.headers['ittybit-webhook-duplicate'] === 'true' ? 0 : 1,
      evidence: logs.map((line) => line.replace(/ evt_\w+/g, '')).join(' / ') || 'nothing logged',
      seconds: 0.5,
    });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(runs).toBe(1);
  });
});
