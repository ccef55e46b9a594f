/**
 * What the fault suite's files share: one run of a fault (two receiver processes, the sender, the
 * fault, a late redelivery of every task, the ledger), the exactly-once checks, and the rows of
 * the table that global-setup.ts prints once every file is done.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FaultReceivers,
  type LedgerSummary,
  percentile,
  planTasks,
  readLedger,
  redisServerPath,
  type SendCounts,
  send,
  type TaskPlan,
} from '@ittybit-webhooks/store-processes';
import { afterAll, expect } from 'vitest';

export const SECRET = 'whsec_fault_suite';
/** Tells this run's keys, tables and connections from any other run's. */
export const RUN = randomUUID().slice(0, 8);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh folder for this file's ledgers and data, removed after the file (kept with FAULTS_KEEP=1). */
export function workDir(name: string): string {
  // Where each file writes its rows of the table (set by global-setup.ts).
  const results = process.env.FAULTS_RESULTS;
  if (!results)
    throw new Error('FAULTS_RESULTS is not set: run the suite with npm run test:faults');
  mkdirSync(results, { recursive: true });
  const dir = mkdtempSync(join(results, `${name}-`));
  afterAll(() => {
    writeFileSync(join(results, `${name}-${RUN}.json`), JSON.stringify(rows));
    if (process.env.FAULTS_KEEP) console.log(`ledgers kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** `redis-server` on PATH; under CI=true its absence fails the suite instead of skipping. */
export function redisServerOrSkip(): string | undefined {
  const path = redisServerPath();
  if (!path && process.env.CI === 'true') {
    throw new Error('redis-server is not on PATH: the fault suite starts its own Redis (CI=true).');
  }
  if (!path)
    console.warn('redis-server not on PATH: skipping the Redis faults (they run under CI).');
  return path;
}

// ---------------------------------------------------------------------------------------------
// The table

/** One row of the printed table. */
export interface Row {
  /** Sort key: the rows print in this order whatever file finished first. */
  order: number;
  fault: string;
  store: string;
  asserted: boolean;
  tasks: number;
  copies: number;
  requests: number;
  failures: string;
  runs: number;
  lost: number;
  twice: number;
  /** Late redeliveries that ran the handler again instead of being answered as duplicates. */
  rerun: number;
  evidence: string;
  seconds: number;
}

const rows: Row[] = [];

/** Adds a row to this file's part of the table. */
export function addRow(row: Row): Row {
  rows.push(row);
  return row;
}

export function describeFailures(counts: SendCounts): string {
  const parts = Object.entries(counts.failures)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([what, n]) => `${what}×${n}`);
  return parts.length > 0 ? parts.join(' ') : 'none';
}

/** A pseudo-random generator seeded by `name`, so every run of a fault plans the same tasks. */
function seeded(name: string): () => number {
  let state = createHash('sha256').update(name).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Handlers that work `min`–`max` ms (a `long.share` of them `long.min`–`long.max` ms); 20 % of
 * the tasks throw on their first attempt.
 */
export function plan(
  name: string,
  min: number,
  max: number,
  long?: { share: number; min: number; max: number },
): () => TaskPlan {
  const random = seeded(name);
  return () => {
    const isLong = long !== undefined && random() < long.share;
    const [lo, hi] = isLong ? [long.min, long.max] : [min, max];
    return { workMs: Math.round(lo + random() * (hi - lo)), flaky: random() < 0.2 };
  };
}

// ---------------------------------------------------------------------------------------------
// One run

/** What a fault can reach while the sender runs. */
export interface Control {
  receivers: FaultReceivers;
  /** Resolves once `fraction` of the copies got their final answer (or the sender is done). */
  progress(fraction: number): Promise<void>;
}

export interface RunOptions {
  order: number;
  fault: string;
  store: string;
  /** Whether this row must show 0 lost and 0 run twice (the known limits are only measured). */
  asserted: boolean;
  /** The folder from {@link workDir}. */
  dir: string;
  tasks: number;
  /** Concurrent copies of each task (default 3). */
  copies?: number;
  /** Tasks in flight at once (default 40). */
  concurrency?: number;
  /** Receiver processes (default 2). */
  processes?: number;
  plan: () => TaskPlan;
  /** Receiver environment: STORE, LEASE_MS, TIMEOUT_MS, the engine's port... */
  env: Record<string, string>;
  /** Runs alongside the sender; answers what it did, for the table. */
  inject?(control: Control): Promise<string>;
  deadlineMs?: number;
}

export interface RunResult {
  counts: SendCounts;
  redelivery: SendCounts;
  /** The ledger after the late redelivery, except `lost`: the keys no handler completed before it. */
  ledger: LedgerSummary;
  row: Row;
  stderr: string;
}

/**
 * Starts the receiver processes, delivers every task `copies` times while `inject` does its
 * damage, delivers every task once more, stops the processes gracefully and reads the ledger.
 */
export async function runFault(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const dir = join(options.dir, `fault-${options.order}`);
  const receivers = new FaultReceivers(dir, { SECRET, ...options.env });
  const copies = options.copies ?? 3;
  try {
    await receivers.start(options.processes ?? 2);
    const planned = await planTasks(options.tasks, SECRET, options.plan);
    const total = planned.length * copies;
    let ended = 0;
    let waiters: { at: number; wake: () => void }[] = [];
    const control: Control = {
      receivers,
      progress: (fraction) =>
        new Promise((resolve) => {
          const at = Math.ceil(total * fraction);
          if (ended >= at) resolve();
          else waiters.push({ at, wake: () => resolve() });
        }),
    };
    const injected = options.inject?.(control);
    const counts = await send({
      urls: receivers.urls,
      tasks: planned,
      copies,
      concurrency: options.concurrency,
      deadlineMs: options.deadlineMs ?? 90_000,
      onProgress: (n) => {
        ended = n;
        const due = waiters.filter((w) => w.at <= n);
        if (due.length === 0) return;
        waiters = waiters.filter((w) => w.at > n);
        for (const waiter of due) waiter.wake();
      },
    });
    ended = total;
    for (const waiter of waiters) waiter.wake();
    const evidence = (await injected) ?? 'none';
    // Lost is counted before the late redelivery, which would run what the sender gave up on.
    // Handlers still at work (in the background with respond: 'immediately') finish first.
    await sleep(options.env.RESPOND === 'immediately' ? 2_000 : 300);
    const keys = planned.map((task) => task.key);
    const lost = readLedger(dir, keys).lost;
    // A late redelivery of every task, one copy each: it must find the key completed.
    const redelivery = await send({
      urls: receivers.urls,
      tasks: planned,
      copies: 1,
      concurrency: options.concurrency,
      deadlineMs: 60_000,
    });
    await receivers.stop();
    const ledger = { ...readLedger(dir, keys), lost };
    const row = addRow({
      order: options.order,
      fault: options.fault,
      store: options.store,
      asserted: options.asserted,
      tasks: options.tasks,
      copies,
      requests: counts.requests + redelivery.requests,
      failures: describeFailures(counts),
      runs: ledger.runs,
      lost: ledger.lost.length,
      twice: ledger.doubled.length,
      rerun: redelivery.ok - redelivery.duplicates,
      evidence,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    });
    return { counts, redelivery, ledger, row, stderr: receivers.stderr() };
  } finally {
    await receivers.stop();
  }
}

/**
 * The checks of a fault that must show exactly once: every key completed by exactly one handler
 * run, every copy answered 200, every late redelivery a duplicate, no process crashed by itself.
 */
export function expectExactlyOnce(
  result: Omit<RunResult, 'row'>,
  keys: number,
  redelivered = keys,
): void {
  const { counts, redelivery, ledger } = result;
  // On failure, show the first keys and what the receivers logged about lapsed leases.
  const why = ledger.logs.filter((line) => /twice|lapsed|lost the lease|could not/i.test(line));
  expect({
    lost: ledger.lost.slice(0, 5),
    twice: ledger.doubled.slice(0, 5),
    why: why.slice(0, 10),
  }).toEqual({ lost: [], twice: [], why: why.slice(0, 10) });
  expect(ledger.runs).toBe(keys);
  expect(counts.undelivered).toBe(0);
  expect(counts.rejected).toBe(0);
  expect(redelivery.duplicates).toBe(redelivered);
  expect(result.stderr).toBe('');
}

/** Answers the receivers gave 503 `store_unavailable` (the store failed or timed out). */
export function storeUnavailable(ledger: LedgerSummary): number {
  return ledger.logs.filter((line) => line.includes('503 store_unavailable')).length;
}

/** `; failed store calls retried or reported: complete 8, extend 2`, or nothing. */
export function storeErrors(ledger: LedgerSummary): string {
  const parts = Object.entries(ledger.storeErrors)
    .filter(([phase]) => phase !== 'handler')
    .map(([phase, n]) => `${phase} ${n}`);
  return parts.length > 0 ? `; failed store calls retried or reported: ${parts.join(', ')}` : '';
}

/** Store-call latency over every operation, in ms. */
export function latencyOf(ledger: LedgerSummary): { p50: number; p95: number; calls: number } {
  const all = Object.values(ledger.latency).flat();
  return { p50: percentile(all, 50) ?? 0, p95: percentile(all, 95) ?? 0, calls: all.length };
}
