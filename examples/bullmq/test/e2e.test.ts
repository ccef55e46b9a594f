// End to end, as the README runs it: `npm start` (the receiver) and two `npm run worker`
// processes against the local Redis, driven by `npx @ittybit-webhooks/cli`'s bin with duplicates,
// concurrent duplicates, a run, a forged signature and a redelivery after a receiver restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const example = join(here, '..');
const cli = join(
  dirname(createRequire(import.meta.url).resolve('@ittybit-webhooks/cli/package.json')),
  'dist/cli.js',
);
const REDIS_URL = 'redis://127.0.0.1:6379';
const SECRET = 'whsec_bullmq_example';
const QUEUE_NAME = `ittybit-e2e-${Date.now()}-${randomUUID().slice(0, 8)}`;
const WORK_MS = 300;

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const reachable = await redisReachable();
if (!reachable) {
  if (process.env.CI === 'true')
    throw new Error(`Redis is not reachable at ${REDIS_URL} (CI=true).`);
  console.warn(`SKIPPED examples/bullmq e2e: no Redis at ${REDIS_URL}.`);
}

/** A started process, its output lines, and a bounded wait for a line. */
interface Proc {
  child: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

const procs: Proc[] = [];

function start(script: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [join(example, 'src', script)], {
    cwd: example,
    env: {
      PATH: process.env.PATH ?? '',
      ITTYBIT_WEBHOOK_SECRET: SECRET,
      REDIS_URL,
      QUEUE_NAME,
      HOST: '127.0.0.1',
      PORT: '0',
      WORK_MS: String(WORK_MS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const proc: Proc = {
    child,
    lines,
    waitFor: (pattern, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          for (const line of lines) {
            const match = line.match(pattern);
            if (match) {
              cleanup();
              resolve(match);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`${script}: no line matching ${pattern} in ${ms} ms:\n${lines.join('\n')}`),
          );
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
  procs.push(proc);
  return proc;
}

async function stop(proc: Proc): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

interface Report {
  ok: boolean;
  eventId?: string;
  taskId: string;
  deliveries: Array<{ ok: boolean; status?: number; attempts: Array<{ status?: number }> }>;
}

/** Runs `npx @ittybit-webhooks/cli send <url> --json ...` and returns its exit code and report. */
function send(url: string, args: string[]): Promise<{ code: number | null; report: Report }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, 'send', url, '--json', '--backoff-ms', '200', ...args],
      { env: { PATH: process.env.PATH ?? '', ITTYBIT_WEBHOOK_SECRET: SECRET } },
    );
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(stdout) as Report });
      } catch (error) {
        reject(error);
      }
    });
  });
}

const processedIds = () =>
  procs
    .flatMap((p) => p.lines)
    .flatMap((line) => {
      const match = line.match(/\] processed (\S+) /);
      return match ? [match[1]!] : [];
    });

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!reachable)('examples/bullmq end to end (real Redis)', () => {
  let queue: Queue;
  let receiver: Proc;
  let url: string;
  const taskIds: string[] = [];
  const eventIds: string[] = [];

  beforeAll(async () => {
    queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: 6379 } });
    receiver = start('server.mjs');
    url = (await receiver.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const workers = [start('worker.mjs'), start('worker.mjs')];
    await Promise.all(workers.map((w) => w.waitFor(/ready on queue/)));
  });

  afterAll(async () => {
    await Promise.all(procs.map(stop));
    if (queue) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('processes each event once although every delivery arrives three times, two at once', async () => {
    const runs = Array.from({ length: 6 }, (_, i) =>
      send(url, [
        ...['--times', '3', '--concurrency', '2', '--metadata', `exportId=export_${i}`],
        ...(i === 4 ? ['--topic', 'run.succeeded'] : []),
        ...(i === 5 ? ['--status', 'failed'] : []),
      ]),
    );
    const forged = send(url, ['--secret', 'not_the_secret']);
    const results = await Promise.all(runs);
    for (const { code, report } of results) {
      expect(code).toBe(0);
      expect(report.deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
      taskIds.push(report.taskId);
      eventIds.push(report.eventId!);
    }
    const refused = await forged;
    expect(refused.code).toBe(1);
    expect(refused.report.deliveries[0]!.attempts.map((a) => a.status)).toEqual([401]);

    await until(async () => (await queue.getJobCounts('completed')).completed === 6, 20_000);
    // Leave time for any extra run to show up before counting.
    await new Promise((r) => setTimeout(r, WORK_MS * 3));
    const processed = processedIds();
    console.log(`processed: ${processed.length} jobs for ${taskIds.length} events (18 deliveries)`);
    expect(processed.sort()).toEqual([...taskIds].sort());
    // The run went to the queue by its topic, under its event id.
    expect(taskIds[4]).toMatch(/^run_/);
    expect(procs.flatMap((p) => p.lines)).toContainEqual(
      expect.stringContaining(`processed ${taskIds[4]} (run.succeeded) job ${eventIds[4]}`),
    );
    expect(await queue.getJobCounts('completed', 'failed', 'waiting', 'active')).toEqual({
      completed: 6,
      failed: 0,
      waiting: 0,
      active: 0,
    });
    expect(processedIds()).not.toContain(refused.report.taskId);
  });

  it('drops a redelivered event after a receiver restart (memory store lost) by its jobId', async () => {
    await stop(receiver);
    receiver = start('server.mjs');
    url = (await receiver.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const again = taskIds[0]!;
    const { code, report } = await send(url, [
      ...['--id', again, '--event-id', eventIds[0]!, '--metadata', 'exportId=export_0'],
    ]);
    expect(code).toBe(0);
    // The new process has no record of it, so its handler ran and called queue.add ...
    await receiver.waitFor(
      new RegExp(`queued ${again} \\(task.succeeded\\) as job ${eventIds[0]}`),
    );
    expect(report.deliveries[0]!.attempts.map((a) => a.status)).toEqual([200]);
    await new Promise((r) => setTimeout(r, WORK_MS * 4));
    // ... and BullMQ kept the existing job: no second run.
    expect(processedIds().filter((id) => id === again)).toHaveLength(1);
    expect((await queue.getJobCounts('completed')).completed).toBe(6);
  });

  it('answers 500 while Redis is unreachable, so nothing is acknowledged that is not queued', async () => {
    const down = start('server.mjs', { REDIS_URL: 'redis://127.0.0.1:1' });
    const downUrl = (await down.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const { code, report } = await send(downUrl, ['--max-attempts', '2']);
    expect(code).toBe(1);
    expect(report.deliveries[0]!.attempts.map((a) => a.status)).toEqual([500, 500]);
    await stop(down);
  });
});
