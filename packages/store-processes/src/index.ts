/**
 * Test helpers shared by the Redis and PostgreSQL store tests (private; not published):
 * - {@link serviceReachable}: skip without CI, fail under `CI=true`, when the engine is down;
 * - {@link TcpProxy} and {@link closedPort}: fault injection between a client and the engine;
 * - {@link startReceivers} and {@link deliverAll}: separate receiver processes and a sender-like
 *   driver for the across-processes exactly-once tests;
 * - {@link describeStoreFaults} and {@link describeAcrossProcesses}: the fault suite and the
 *   across-processes test both stores run, given their clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createReceiver,
  type ErrorPhase,
  type IdempotencyStore,
  type Receiver,
  type ReceiverResponse,
} from '@ittybit-webhooks/core';
import {
  createTestDelivery,
  createTestTask,
  type SenderTask,
} from '@ittybit-webhooks/core/testing';

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a TCP connection to `127.0.0.1:port` opens within `timeoutMs`. */
export function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `true` when the tests of an engine should run: it is reachable, or `CI=true` (then they must
 * run and fail loudly). Otherwise warns and answers `false`, for `describe.skipIf(!...)`.
 */
export async function serviceReachable(name: string, port: number): Promise<boolean> {
  if (await canConnect(port)) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`${name} not reachable at ${HOST}:${port}; skipping its tests (they run under CI).`);
  return false;
}

/** A port on 127.0.0.1 that nothing listens on (it was just free). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export { TcpProxy } from './tcp-proxy.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Throws unless the built `dist/` of each package exists and is newer than its `src/index.ts`:
 * child processes import the published build, not the TypeScript source.
 */
export function assertBuilt(packages: readonly string[]): void {
  for (const name of packages) {
    const dist = `${root}packages/${name}/dist/index.js`;
    const src = `${root}packages/${name}/src/index.ts`;
    if (!existsSync(dist) || statSync(dist).mtimeMs < statSync(src).mtimeMs) {
      throw new Error(
        `packages/${name}/dist is missing or older than its source: run \`npm run build -w @ittybit-webhooks/${name}\` first.`,
      );
    }
  }
}

/** Receiver processes started by {@link startReceivers}. */
export interface Receivers {
  /** `http://127.0.0.1:<port>/` of each process. */
  urls: string[];
  /** What the processes wrote to stderr (errors they logged). */
  stderr(): string;
  /** Stops every process (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
}

/**
 * Starts `env.length` receiver processes (`receiver-server.mjs`, one per env) and waits until each
 * listens. Kills the ones already started if one fails.
 */
export async function startReceivers(
  envs: readonly Record<string, string>[],
  timeoutMs = 10_000,
): Promise<Receivers> {
  const script = fileURLToPath(new URL('./receiver-server.mjs', import.meta.url));
  const children: ChildProcess[] = [];
  let errors = '';
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const urls = await Promise.all(
      envs.map((env) => {
        const child = spawn(process.execPath, [script], {
          cwd: root,
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        child.stderr?.on('data', (data: Buffer) => {
          if (errors.length < 100_000) errors += data.toString();
        });
        return new Promise<string>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`receiver did not listen within ${timeoutMs} ms: ${errors}`)),
            timeoutMs,
          );
          let out = '';
          child.stdout?.on('data', (data: Buffer) => {
            out += data.toString();
            const line = out.split('\n')[0];
            if (out.includes('\n') && line) {
              clearTimeout(timer);
              resolve(`http://${HOST}:${(JSON.parse(line) as { port: number }).port}/`);
            }
          });
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`receiver exited with ${code}: ${errors}`));
          });
        });
      }),
    );
    return { urls, stderr: () => errors, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What {@link deliverAll} saw. */
export interface DeliveryCounts {
  tasks: number;
  /** Deliveries: tasks times copies. */
  deliveries: number;
  /** HTTP requests, retries included. */
  requests: number;
  /** 200 answers (first runs and duplicates). */
  ok: number;
  /** 200 answers marked as duplicates (handler not called). */
  duplicates: number;
  /** 503 answers (retried). */
  unavailable: number;
  /** Any other answer or a network error. */
  other: number;
  /** Deliveries that never got a 200 within the attempts. */
  undelivered: number;
  /** Wall time, in ms. */
  ms: number;
}

/** Options of {@link deliverAll}. */
export interface DeliverOptions {
  urls: readonly string[];
  secret: string;
  /** Distinct tasks (default 1,000). */
  tasks?: number;
  /** Deliveries of each task, spread across the urls (default 3). */
  copies?: number;
  /** Requests in flight at once (default 50). */
  concurrency?: number;
  /** Attempts per delivery, the first included (default 30). */
  maxAttempts?: number;
}

/**
 * Delivers `tasks` distinct signed tasks `copies` times each, the copies of one task back to back
 * so they race, spread across every url; retries 503s like the sender (backoff, bounded
 * attempts), each retry to the next url. Answers the counts and the task ids.
 */
export async function deliverAll(
  options: DeliverOptions,
): Promise<{ counts: DeliveryCounts; taskIds: string[] }> {
  const { urls, secret } = options;
  const taskCount = options.tasks ?? 1_000;
  const copies = options.copies ?? 3;
  const concurrency = options.concurrency ?? 50;
  const maxAttempts = options.maxAttempts ?? 30;
  const started = Date.now();
  const tasks = await Promise.all(
    Array.from({ length: taskCount }, async (_, i) => {
      const task = createTestTask(i % 10 === 9 ? { status: 'failed' } : {});
      return { id: task.id, delivery: await createTestDelivery(task, secret) };
    }),
  );
  const queue = tasks.flatMap((task, t) =>
    Array.from({ length: copies }, (_, c) => ({ ...task, first: (t + c) % urls.length })),
  );
  const counts: DeliveryCounts = {
    tasks: taskCount,
    deliveries: queue.length,
    requests: 0,
    ok: 0,
    duplicates: 0,
    unavailable: 0,
    other: 0,
    undelivered: 0,
    ms: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const item = queue[next++]!;
      let delivered = false;
      for (let attempt = 0; attempt < maxAttempts && !delivered; attempt++) {
        if (attempt > 0) await sleep(Math.min(500, 20 * 2 ** attempt) * (0.5 + Math.random()));
        counts.requests++;
        try {
          const response = await fetch(urls[(item.first + attempt) % urls.length]!, {
            method: 'POST',
            headers: item.delivery.headers,
            body: item.delivery.body,
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          if (response.status === 200) {
            counts.ok++;
            if (response.headers.get('ittybit-webhook-duplicate') === 'true') counts.duplicates++;
            delivered = true;
          } else if (response.status === 503) {
            counts.unavailable++;
          } else {
            counts.other++;
          }
        } catch {
          counts.other++;
        }
      }
      if (!delivered) counts.undelivered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  counts.ms = Date.now() - started;
  return { counts, taskIds: tasks.map((task) => task.id) };
}

/** Per-task handler runs, summarised for the assertion and the printout. */
export function summariseRuns(
  taskIds: readonly string[],
  runs: ReadonlyMap<string, number>,
): { handlerRuns: number; exactlyOnce: number; neverRan: string[]; ranTwice: string[] } {
  let handlerRuns = 0;
  for (const n of runs.values()) handlerRuns += n;
  const neverRan = taskIds.filter((id) => !runs.has(id));
  const ranTwice = taskIds.filter((id) => (runs.get(id) ?? 0) > 1);
  const exactlyOnce = taskIds.filter((id) => runs.get(id) === 1).length;
  return { handlerRuns, exactlyOnce, neverRan, ranTwice };
}

/** A receiver wired for fault tests, with everything it did recorded. */
export interface FaultReceiver {
  receiver: Receiver;
  /** Handler runs per task id. */
  runs: Map<string, number>;
  /** Lines logged at error or warn level. */
  logs: string[];
  /** Phases reported to `onError`. */
  phases: ErrorPhase[];
  /** Delivers `task` through `receiver.handle` and times the answer. */
  deliver(task: SenderTask): Promise<ReceiverResponse & { ms: number }>;
}

/** Options of {@link faultReceiver}. */
export interface FaultReceiverOptions {
  /** Store call timeout (default 500 ms). */
  timeoutMs?: number;
  /** Lease of a claim (default: the receiver's, 60 s). */
  leaseMs?: number;
  /** Called after the handler counted its run, still inside the handler. */
  afterRun?: (task: SenderTask) => unknown;
}

/** A receiver on `store` whose handler counts runs, with a recording logger. */
export function faultReceiver(
  store: IdempotencyStore,
  options: FaultReceiverOptions = {},
): FaultReceiver {
  const secret = 'whsec_faults';
  const runs = new Map<string, number>();
  const logs: string[] = [];
  const phases: ErrorPhase[] = [];
  const handler = async (task: { id: string }) => {
    runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
    await options.afterRun?.(task as SenderTask);
  };
  const receiver = createReceiver({
    secret,
    onSucceeded: handler,
    onFailed: handler,
    idempotency: { store, timeoutMs: options.timeoutMs ?? 500, leaseMs: options.leaseMs },
    logger: { error: (m) => logs.push(m), warn: (m) => logs.push(m) },
    onError: (_error, info) => phases.push(info.phase),
  });
  return {
    receiver,
    runs,
    logs,
    phases,
    async deliver(task) {
      const { body, headers } = await createTestDelivery(task, secret);
      const started = performance.now();
      const answer = await receiver.handle({ method: 'POST', headers, body });
      return { ...answer, ms: performance.now() - started };
    },
  };
}

/**
 * Delivers `task` until it gets a 200, like the sender retrying 5xx (at most `attempts` times,
 * `delayMs` apart). Answers the statuses seen.
 */
export async function deliverUntilOk(
  faults: FaultReceiver,
  task: SenderTask,
  attempts = 40,
  delayMs = 100,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < attempts; i++) {
    const answer = await faults.deliver(task);
    statuses.push(answer.status);
    if (answer.status === 200) break;
    await sleep(delayMs);
  }
  return statuses;
}

export * from './across-processes.js';
export * from './fault-kit.js';
export * from './faults.js';
export * from './sender.js';
