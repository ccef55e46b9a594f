// Shared by the examples' e2e tests (`npm run test:examples`): boot an example the way its README
// says (`npm run <script>` in its folder) on a free 127.0.0.1 port, drive it with the real CLI (the
// built bin that `npx @ittybit-webhooks/cli` runs), and kill its whole process group afterwards.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cliPath = `${root}packages/cli/dist/cli.js`;

/** The test secret every example is started with. */
export const SECRET = 'whsec_e2e_example';

/** A free TCP port on 127.0.0.1 (closed again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process started in its own process group, so that stop() also ends npm's children. */
class Proc {
  output = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(command: string, args: string[], cwd: string, env: Record<string, string>) {
    this.child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk) => {
      this.output += chunk;
    });
    this.child.stderr?.on('data', (chunk) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.output += String(error);
        resolve(-1);
      });
      this.child.on('close', (code) => resolve(code));
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, signal);
    } catch {
      // The group is gone already.
    }
  }

  /** SIGTERM to the whole group, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    this.signal('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(5_000).then(() => false)]);
    // npm may exit before its children: always make sure the rest of the group is gone too.
    this.signal('SIGKILL');
    if (!done) await Promise.race([this.exited, sleep(2_000)]);
  }
}

/** Runs `npm run <script>` in an example folder to completion, bounded. */
export async function runScript(cwd: string, script: string, timeoutMs: number): Promise<void> {
  // Builds run without the run-time secret, as a CI build usually does (`next build` must pass).
  const proc = new Proc('npm', ['run', script], cwd, {
    NEXT_TELEMETRY_DISABLED: '1',
    ITTYBIT_WEBHOOK_SECRET: '',
  });
  const code = await Promise.race([proc.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
  if (code !== 0) {
    await proc.stop();
    throw new Error(`npm run ${script} ended with ${code}:\n${proc.output.slice(-4000)}`);
  }
}

/** A running example app. */
export interface RunningApp {
  /** e.g. `http://127.0.0.1:41234` */
  base: string;
  /** Everything it printed so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * `npm start` in `cwd` with PORT and ITTYBIT_WEBHOOK_SECRET set; resolves once GET `/exports/x`
 * gets any HTTP answer.
 */
export async function startApp(cwd: string, timeoutMs = 30_000): Promise<RunningApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = new Proc('npm', ['start'], cwd, {
    PORT: String(port),
    ITTYBIT_WEBHOOK_SECRET: SECRET,
    NEXT_TELEMETRY_DISABLED: '1',
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`npm start exited early:\n${proc.output.slice(-4000)}`);
    try {
      await fetch(`${base}/exports/x`, { signal: AbortSignal.timeout(2_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`npm start did not answer within ${timeoutMs} ms:\n${proc.output}`);
      }
      await sleep(150);
    }
  }
  return { base, logs: () => proc.output, stop: () => proc.stop() };
}

/** What `npx @ittybit-webhooks/cli send --json` prints. */
export interface SendReport {
  ok: boolean;
  /** The event's topic and id (the event shape, the default). */
  topic?: string;
  eventId?: string;
  /** The task's id, or the run's with a run.* topic. */
  taskId: string;
  deliveries: {
    ok: boolean;
    status?: number;
    duplicate: boolean;
    attempts: { status?: number; duplicate: boolean; error?: string }[];
  }[];
}

/** Runs `npx @ittybit-webhooks/cli send <url> --secret SECRET --json ...args` (the built bin). */
export async function send(url: string, ...args: string[]) {
  const proc = new Proc(
    process.execPath,
    [cliPath, 'send', url, '--secret', SECRET, '--json', '--backoff-ms', '100', ...args],
    root,
    {},
  );
  const code = await Promise.race([proc.exited, sleep(30_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') await proc.stop();
  const line = proc.output.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the CLI's send printed no JSON (exit ${code}):\n${proc.output}`);
  return { code, report: JSON.parse(line) as SendReport };
}

/** Waits until `check` passes (the app's log lines may arrive a moment after its answer). */
export async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** How many times `part` occurs in `text`. */
export const count = (text: string, part: string) => text.split(part).length - 1;

/** What an example's own tests get from the running suite (valid inside its `it` blocks). */
export interface SuiteContext {
  /** The webhook URL. */
  url(): string;
  /** Everything the app printed so far. */
  logs(): string;
  /** GET /exports/:id of the app. */
  record(id: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A fresh export id for this run. */
  exportId(label: string): string;
}

export interface ExampleOptions {
  /** The example's folder name under examples/. */
  name: string;
  /** Runs `npm run build:app` first (Next.js, the worker). */
  build?: boolean;
  /** Bound on the build, ms. */
  buildTimeoutMs?: number;
  /** Bound on start-up, ms. */
  startTimeoutMs?: number;
  /** Webhook path (default /webhooks/ittybit). */
  path?: string;
  /** What a GET to the webhook path answers, as the example's README says (checked when given). */
  get?: { status: number; allow?: string };
  /** More tests of this example, run against the same app. */
  more?: (suite: SuiteContext) => void;
}

/**
 * The e2e suite every example passes: a success, a failure, a duplicate, two concurrent duplicates
 * and a forged signature, each checked in the CLI's report, the example's record lookup and its log.
 */
export function exampleSuite(options: ExampleOptions): void {
  const cwd = `${root}examples/${options.name}`;
  let app: RunningApp | undefined;
  let url = '';
  const run = Math.random().toString(36).slice(2, 8);
  const exportId = (label: string) => `exp_${label}_${run}`;

  const record = async (id: string) => {
    const res = await fetch(`${app!.base}/exports/${id}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  describe(`examples/${options.name} (e2e)`, () => {
    beforeAll(
      async () => {
        expect(existsSync(cliPath), `${cliPath} is missing: npm run build`).toBe(true);
        if (options.build) await runScript(cwd, 'build:app', options.buildTimeoutMs ?? 240_000);
        app = await startApp(cwd, options.startTimeoutMs);
        url = `${app.base}${options.path ?? '/webhooks/ittybit'}`;
      },
      (options.buildTimeoutMs ?? 240_000) + 60_000,
    );
    afterAll(async () => {
      await app?.stop();
    }, 15_000);

    it('success: 200, the export is ready, the handler logged it', async () => {
      const id = exportId('ok');
      const { code, report } = await send(url, '--metadata', `exportId=${id}`);
      expect(code).toBe(0);
      expect(report.deliveries[0]).toMatchObject({ ok: true, status: 200, duplicate: false });
      expect(await record(id)).toMatchObject({
        status: 200,
        body: { status: 'ready', taskId: report.taskId },
      });
      await eventually(() => expect(app!.logs()).toContain(`export ${id} ready`));
    });

    it('failure: 200, the export is marked failed with the reason', async () => {
      const id = exportId('failed');
      const { code, report } = await send(
        url,
        '--status',
        'failed',
        '--metadata',
        `exportId=${id}`,
      );
      expect(code).toBe(0);
      expect(report.deliveries[0]).toMatchObject({ ok: true, status: 200 });
      const { body } = await record(id);
      expect(body).toMatchObject({ status: 'failed', taskId: report.taskId });
      expect(body.error).toEqual(expect.any(String));
      await eventually(() => expect(app!.logs()).toContain(`export ${id} failed`));
    });

    it('duplicate: both answered 200, the second marked duplicate, handled once', async () => {
      const id = exportId('dup');
      const { code, report } = await send(url, '--times', '2', '--metadata', `exportId=${id}`);
      expect(code).toBe(0);
      expect(report.deliveries.map((d) => [d.status, d.duplicate])).toEqual([
        [200, false],
        [200, true],
      ]);
      await eventually(() => expect(count(app!.logs(), `export ${id} ready`)).toBe(1));
    });

    it('concurrent duplicates: both end 200 (a 503 is retried), handled once', async () => {
      const id = exportId('race');
      const { code, report } = await send(
        url,
        ...['--times', '2', '--concurrency', '2', '--metadata', `exportId=${id}`],
      );
      expect(code).toBe(0);
      expect(report.deliveries.every((d) => d.status === 200)).toBe(true);
      for (const attempt of report.deliveries.flatMap((d) => d.attempts)) {
        expect([200, 503]).toContain(attempt.status);
      }
      await eventually(() => expect(count(app!.logs(), `export ${id} ready`)).toBe(1));
    });

    it('forged signature: 401, not retried, nothing recorded', async () => {
      const id = exportId('forged');
      const { code, report } = await send(
        url,
        ...['--signature', 'ab'.repeat(32), '--metadata', `exportId=${id}`],
      );
      expect(code).toBe(1);
      expect(report.deliveries[0]).toMatchObject({ ok: false, status: 401 });
      expect(report.deliveries[0]?.attempts).toHaveLength(1);
      expect((await record(id)).status).toBe(404);
      expect(app!.logs()).not.toContain(id);
    });

    const get = options.get;
    if (get) {
      it(`GET: ${get.status}${get.allow ? ` with Allow: ${get.allow}` : ''}, as the README says`, async () => {
        const res = await fetch(url);
        expect(res.status).toBe(get.status);
        if (get.allow) expect(res.headers.get('allow')).toBe(get.allow);
      });
    }

    options.more?.({ url: () => url, logs: () => app!.logs(), record, exportId });
  });
}
