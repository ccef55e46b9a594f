/**
 * Runs every kind against every adapter on real servers: one fast-check property per kind and
 * adapter (seeded, shrinking to the smallest failing request), a good delivery after each batch
 * to prove the server still answers, and a summary table of kind × adapter × status.
 */
import { createHash } from 'node:crypto';
import type { ReceiverOptions } from '@ittybit-webhooks/core';
import fc from 'fast-check';
import type { AdapterUnderTest } from '../../conformance/src/adapters.js';
import { type Kind, LIMITS } from './kinds.js';
import { globalPollution, Observer, observedReceiver, Registry } from './observer.js';
import { describeResult, judge, outcomeLabel, type Violation } from './oracle.js';
import { SECRET, sign } from './payloads.js';
import { describeProbe, type Probe, toWire } from './spec.js';
import { exchange, type WireResult } from './wire.js';

/** What a run is told. */
export interface FuzzOptions {
  seed: number;
  kinds: readonly Kind[];
  adapters: readonly AdapterUnderTest[];
  /** Multiplies every kind's runs (default 1). */
  scale?: number;
  /** Further multiplies the runs on adapters not listed in `primary` (default 1). */
  secondaryScale?: number;
  /** Adapters run at full scale; the others at `secondaryScale` (default: all are primary). */
  primary?: readonly string[];
  /** Stop starting new batches after this many milliseconds (default 150 s). */
  budgetMs?: number;
  /** Options on top of the suite's own for every receiver (to break one on purpose in a test). */
  receiverOptions?: Partial<ReceiverOptions>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** One failing property: where, how to replay it, and the smallest request found. */
export interface Failure {
  kind: string;
  adapter: string;
  seed: number;
  path: string | null;
  categories: Violation['category'][];
  message: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  /** kind → adapter → status label → count */
  counts: Map<string, Map<string, Map<string, number>>>;
  failures: Failure[];
  /** Problems found outside any one property: crashes, pollution, unattributed calls. */
  problems: string[];
  /** Batches not run for lack of time. */
  skipped: string[];
  ms: number;
  /** CPU time of this process (client and servers) over the run, in milliseconds. */
  cpuMs: number;
}

/** A kind's seed, derived from the run's seed and the kind's name (independent of order and filters). */
export function kindSeed(seed: number, kind: string): number {
  return createHash('sha256').update(`${seed}:${kind}`).digest().readInt32LE(0);
}

const DEFAULT_TIMEOUT_MS = 3_000;

interface Target {
  adapter: AdapterUnderTest;
  port: number;
  observer: Observer;
  drain(): Promise<void>;
  close(): Promise<void>;
}

async function start(
  adapter: AdapterUnderTest,
  registry: Registry,
  receiverOptions?: Partial<ReceiverOptions>,
): Promise<Target> {
  const observer = new Observer(registry);
  const { receiver, inner } = observedReceiver(observer, receiverOptions);
  const running = await adapter.start(receiver, {});
  return {
    adapter,
    port: Number(new URL(running.url).port),
    observer,
    drain: () => inner.drain(),
    close: () => running.close(),
  };
}

/** A good signed delivery: the server must still answer it 200 and run its handler. */
async function stillAlive(
  target: Target,
  registry: Registry,
  n: number,
): Promise<string | undefined> {
  const body = JSON.stringify({
    id: `evt_alive_${n}_${Date.now()}`,
    object: 'event',
    kind: 'task.succeeded',
    data: {
      id: `task_alive_${n}_${Date.now()}`,
      object: 'task',
      status: 'succeeded',
      output: { url: 'https://cdn.example.com/alive.mp4' },
      created_at: Date.now(),
    },
    created_at: Math.floor(Date.now() / 1000),
  });
  const probe: Probe = {
    kind: 'alive',
    variant: 'a good delivery after the batch',
    requests: [
      {
        method: 'POST',
        target: '/webhooks/ittybit',
        version: '1.1',
        headers: [
          ['Content-Type', 'application/json'],
          ['Ittybit-Signature', sign(body, SECRET)],
        ],
        body: Buffer.from(body),
        framing: { type: 'length' },
        signed: true,
      },
    ],
    expect: [{ statuses: [200] }],
  };
  const id = registry.add(true);
  const { plan } = toWire(probe, target.port, [id], 5_000);
  const result = await exchange(target.port, plan);
  const violations = judge(probe, result, [id], target.observer, target.adapter.tags);
  if (result.responses[0]?.status === 200 && violations.length === 0) return undefined;
  return `${violations.map((v) => v.message).join('; ') || 'not answered 200'}\n${describeResult(result)}`;
}

function bump(report: FuzzReport, kind: string, adapter: string, label: string): void {
  const byAdapter = report.counts.get(kind) ?? new Map<string, Map<string, number>>();
  report.counts.set(kind, byAdapter);
  const byStatus = byAdapter.get(adapter) ?? new Map<string, number>();
  byAdapter.set(adapter, byStatus);
  byStatus.set(label, (byStatus.get(label) ?? 0) + 1);
}

/** What one probe sent and got: ids per request, the smuggled ids, the answers. */
interface Sent {
  ids: number[];
  smuggledIds: (number | undefined)[];
  result: WireResult;
}

/** Sends a probe: on one connection, or (parallel) one connection per request. */
async function send(
  target: Target,
  probe: Probe,
  registry: Registry,
  timeoutMs: number,
): Promise<Sent> {
  const ids = probe.requests.map((r) => registry.add(r.signed));
  const smuggledIds = probe.requests.map((r) => (r.smuggles ? registry.addSmuggled() : undefined));
  const parallel = probe.transport?.parallel;
  if (!parallel) {
    const { plan } = toWire(probe, target.port, ids, timeoutMs, smuggledIds);
    return { ids, smuggledIds, result: await exchange(target.port, plan) };
  }
  const started = performance.now();
  const results = await Promise.all(
    probe.requests.map(async (request, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * parallel.staggerMs));
      const single: Probe = { ...probe, requests: [request], expect: [probe.expect[i]!] };
      delete single.transport;
      const { plan } = toWire(single, target.port, [ids[i]!], timeoutMs, [smuggledIds[i]]);
      return exchange(target.port, plan);
    }),
  );
  const result: WireResult = {
    responses: [],
    end: results.every((r) => r.end === 'done')
      ? 'done'
      : (results.find((r) => r.end !== 'done')?.end ?? 'done'),
    informational: results.flatMap((r) => r.informational),
    ms: Math.round(performance.now() - started),
  };
  // One slot per request, in order (a request without an answer leaves a hole).
  results.forEach((r, i) => {
    const response = r.responses[0];
    if (response) result.responses[i] = response;
  });
  return { ids, smuggledIds, result };
}

/** Runs one kind against one adapter; returns the failure, if any. */
async function runBatch(
  kind: Kind,
  target: Target,
  registry: Registry,
  report: FuzzReport,
  options: FuzzOptions,
  timeLimitMs: number,
): Promise<Failure | undefined> {
  const seed = kindSeed(options.seed, kind.name);
  const timeoutMs = kind.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const adapter = target.adapter.name;
  let lastViolations: Violation[] = [];
  const property = fc.asyncProperty(kind.arbitrary, async (probe) => {
    const { ids, smuggledIds, result } = await send(target, probe, registry, timeoutMs);
    report.requests += probe.requests.length;
    probe.requests.forEach((_, i) => {
      bump(report, kind.name, adapter, outcomeLabel(result, i));
    });
    const violations = judge(probe, result, ids, target.observer, target.adapter.tags, smuggledIds);
    const pollution = globalPollution();
    if (pollution) violations.push({ category: 'unexpected status', message: pollution });
    if (violations.length > 0) {
      lastViolations = violations;
      throw new Error(
        `${violations.map((v) => `${v.category}: ${v.message}`).join('\n')}\n${describeProbe(probe)}\n${describeResult(result)}`,
      );
    }
  });
  const secondary = options.primary !== undefined && !options.primary.includes(adapter);
  const factor = (options.scale ?? 1) * (secondary ? (options.secondaryScale ?? 1) : 1);
  const runs = Math.max(1, Math.round(kind.runs * factor));
  const details = await fc.check(property, {
    seed,
    numRuns: runs,
    plugins: [fc.interruptAfterTimeLimit(timeLimitMs)],
  });
  if (!details.failed) return undefined;
  const error = details.errorInstance;
  return {
    kind: kind.name,
    adapter,
    seed,
    path: details.counterexamplePath,
    categories: [...new Set(lastViolations.map((v) => v.category))],
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Runs every kind against every adapter (adapters in parallel, kinds one after another). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const budgetMs = options.budgetMs ?? 150_000;
  const log = options.log ?? (() => {});
  const registry = new Registry();
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    counts: new Map(),
    failures: [],
    problems: [],
    skipped: [],
    ms: 0,
    cpuMs: 0,
  };
  const uncaught = (error: unknown) => {
    report.problems.push(`uncaught in the server process: ${String(error)}`);
  };
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  const targets = await Promise.all(
    options.adapters.map((a) => start(a, registry, options.receiverOptions)),
  );
  try {
    await Promise.all(
      targets.map(async (target) => {
        let n = 0;
        for (const kind of options.kinds) {
          const left = budgetMs - (Date.now() - started);
          if (left <= 0) {
            report.skipped.push(`${kind.name} on ${target.adapter.name}`);
            continue;
          }
          const t0 = Date.now();
          const failure = await runBatch(
            kind,
            target,
            registry,
            report,
            options,
            Math.min(left, 60_000),
          );
          if (failure) report.failures.push(failure);
          const dead = await stillAlive(target, registry, ++n);
          if (dead) {
            report.problems.push(
              `${target.adapter.name}: no good answer after ${kind.name}: ${dead}`,
            );
          }
          log(
            `${target.adapter.name.padEnd(24)} ${kind.name.padEnd(28)} ${Date.now() - t0} ms${failure ? ' FAILED' : ''}`,
          );
        }
      }),
    );
    // Background work (a handler still running for an aborted request) settles before the sweep.
    await Promise.all(targets.map((t) => t.drain()));
    for (const target of targets) {
      const o = target.observer;
      const smuggled = o.smuggledHandled();
      if (smuggled.length > 0) {
        report.problems.push(
          `${target.adapter.name}: requests written inside another request's body were handled: ids ${smuggled.slice(0, 20).join(', ')}`,
        );
      }
      const unsigned = o.unsignedReached();
      if (unsigned.length > 0) {
        report.problems.push(
          `${target.adapter.name}: requests without a correct signature reached a handler or the store: ids ${unsigned.slice(0, 20).join(', ')}`,
        );
      }
      if (o.unattributed > 0) {
        report.problems.push(
          `${target.adapter.name}: ${o.unattributed} handler or store call(s) outside any request`,
        );
      }
      for (const problem of o.problems.slice(0, 10))
        report.problems.push(`${target.adapter.name}: ${problem}`);
      const internal = o.errors.get('internal') ?? 0;
      if (internal > 0)
        report.problems.push(
          `${target.adapter.name}: ${internal} internal error(s) reported to onError`,
        );
    }
  } finally {
    process.off('uncaughtException', uncaught);
    process.off('unhandledRejection', uncaught);
    await Promise.all(targets.map((t) => t.close().catch(() => {})));
  }
  report.ms = Date.now() - started;
  const used = process.cpuUsage(cpu);
  report.cpuMs = Math.round((used.user + used.system) / 1000);
  return report;
}

/** The summary: one row per kind, one column per adapter, each cell `status×count`. */
export function summaryTable(report: FuzzReport, adapters: readonly string[]): string {
  const cells = (kind: string, adapter: string) => {
    const byStatus = report.counts.get(kind)?.get(adapter);
    if (!byStatus) return '-';
    return [...byStatus.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, count]) => `${status}×${count}`)
      .join(' ');
  };
  const kinds = [...report.counts.keys()];
  const failed = new Set(report.failures.map((f) => `${f.kind}|${f.adapter}`));
  const rows = kinds.map((kind) => [
    kind,
    ...adapters.map((a) => `${cells(kind, a)}${failed.has(`${kind}|${a}`) ? ' ✗' : ''}`),
  ]);
  const header = ['kind', ...adapters];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  const totals = adapters.map((a) => {
    let sum = 0;
    for (const byAdapter of report.counts.values()) {
      for (const count of byAdapter.get(a)?.values() ?? []) sum += count;
    }
    return String(sum);
  });
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map(line),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    line(['requests', ...totals]),
  ].join('\n');
}

export { LIMITS };
