/**
 * The moving parts of the fault suite (`npm run test:faults`): a redis-server the suite starts,
 * SIGKILLs and restarts itself; receiver processes (`fault-receiver.mjs`) that can be crashed and
 * replaced; and the ledger their handlers write, read back into "lost" and "ran twice".
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect } from './index.js';

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Every child process the suite started, killed if the test process exits first. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The path of `redis-server` on PATH, or `undefined`. */
export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/**
 * Whether the redis-server of process `pid` answers on `port` with its data loaded: `INFO`
 * names the process (not another server that took the port) and `loading:0` (the AOF replayed).
 */
function serving(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('INFO\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes(`process_id:${pid}\r\n`) && /\r\nloading:0\r\n/.test(reply)) done(true);
    });
  });
}

/** A free port on 127.0.0.1 from `from` up (nothing answers a connection there). */
export async function freePort(from: number, to: number): Promise<number> {
  for (let port = from; port <= to; port++) {
    if (!(await canConnect(port, 300))) return port;
  }
  throw new Error(`no free port in ${from}-${to} on ${HOST}`);
}

/**
 * A redis-server of the suite's own on 127.0.0.1, on the first port of `ports` it can bind, with
 * its data in `dir`: with the AOF fsynced on every write (`appendfsync always`), or with no
 * persistence at all. Restarts keep the port.
 */
export class RedisServer {
  #child: ChildProcess | undefined;
  #port: number | undefined;
  readonly #logs: string[] = [];

  constructor(
    readonly ports: readonly [number, number],
    readonly dir: string,
    readonly persistent: boolean,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** The port it listens on (after the first {@link start}). */
  get port(): number {
    if (this.#port === undefined) throw new Error('redis-server not started');
    return this.#port;
  }

  /** Starts it and waits until it serves its data (the AOF replayed). */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.#port !== undefined) {
      if (await this.#spawn(this.#port, timeoutMs)) return;
    } else {
      const [from, to] = this.ports;
      for (let port = from; port <= to; port++) {
        if (await canConnect(port, 300)) continue;
        if (await this.#spawn(port, timeoutMs)) {
          this.#port = port;
          return;
        }
      }
    }
    throw new Error(`redis-server did not start: ${this.#logs.join('').slice(-2_000)}`);
  }

  /** Starts one on `port`; `false` when it exited (the port was taken) or did not come up. */
  async #spawn(port: number, timeoutMs: number): Promise<boolean> {
    const persistence = this.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
      : ['--appendonly', 'no', '--save', ''];
    const child = track(
      spawn(
        redisServerPath() ?? 'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          HOST,
          '--dir',
          this.dir,
          ...persistence,
          '--daemonize',
          'no',
          '--logfile',
          '',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    this.#child = child;
    const log = (data: Buffer) => {
      if (this.#logs.length < 500) this.#logs.push(data.toString());
    };
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      if (await serving(port, child.pid)) return true;
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited(child);
    return false;
  }

  /** SIGKILL: no shutdown, no final write; what is on disk is what the AOF fsynced. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGTERM');
    await exited(child);
    clearTimeout(kill);
  }
}

/**
 * A {@link TcpProxy} in a process of its own (proxy-process.mjs): the network between the
 * receivers and an engine, with timing of its own, not the test runner's.
 */
export class ProxyProcess {
  #next = 0;
  readonly #waiting = new Map<number, () => void>();

  private constructor(
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.on('message', (message: { id?: number }) => {
      if (message.id === undefined) return;
      this.#waiting.get(message.id)?.();
      this.#waiting.delete(message.id);
    });
  }

  /** Starts a proxy to `127.0.0.1:targetPort`. */
  static async start(targetPort: number): Promise<ProxyProcess> {
    const script = fileURLToPath(new URL('./proxy-process.mjs', import.meta.url));
    const child = track(fork(script, [String(targetPort)], { stdio: 'inherit' }));
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { port: number }) => resolve(message.port));
      child.once('exit', (code) => reject(new Error(`proxy process exited with ${code}`)));
    });
    return new ProxyProcess(port, child);
  }

  #command(op: string, extra: Record<string, number> = {}): Promise<void> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.child.send({ id, op, ...extra });
    });
  }

  /** Passes bytes again, without delay. */
  forward(): Promise<void> {
    return this.#command('forward');
  }

  /** Holds every byte in both directions (a network blackhole) until {@link forward}. */
  stall(): Promise<void> {
    return this.#command('stall');
  }

  /** Holds every chunk a uniform `min`–`max` ms in each direction, in order. */
  slow(min: number, max: number): Promise<void> {
    return this.#command('slow', { min, max });
  }

  /** Closes the proxy and ends its process. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    await this.#command('close');
    await exited(this.child);
  }
}

/** One receiver process started by {@link FaultReceivers}. */
interface ReceiverProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Receiver processes of `fault-receiver.mjs`, each with its own ledger file in `ledgerDir`. The
 * URL list follows restarts, so a sender reading {@link FaultReceivers.urls} reaches the new one.
 */
export class FaultReceivers {
  readonly #processes: ReceiverProcess[] = [];
  readonly #urls: string[] = [];
  #started = 0;
  #stderr = '';

  constructor(
    readonly ledgerDir: string,
    readonly env: Record<string, string>,
  ) {
    mkdirSync(ledgerDir, { recursive: true });
  }

  /** The current URLs, one per slot. */
  urls = (): readonly string[] => this.#urls;

  /** What the processes wrote to stderr (uncaught errors; handled ones go to the ledger). */
  stderr(): string {
    return this.#stderr;
  }

  /** Starts `count` processes. */
  async start(count: number): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, async (_, slot) => {
        const started = await this.#spawn();
        this.#processes[slot] = started;
        this.#urls[slot] = started.url;
      }),
    );
  }

  async #spawn(timeoutMs = 15_000): Promise<ReceiverProcess> {
    const script = fileURLToPath(new URL('./fault-receiver.mjs', import.meta.url));
    this.#started += 1;
    const ledger = join(this.ledgerDir, `receiver-${this.#started}.log`);
    const child = track(
      spawn(process.execPath, [script], {
        cwd: root,
        env: { ...process.env, ...this.env, LEDGER: ledger },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    child.stderr?.on('data', (data: Buffer) => {
      if (this.#stderr.length < 100_000) this.#stderr += data.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`receiver did not listen within ${timeoutMs} ms: ${this.#stderr}`));
      }, timeoutMs);
      let out = '';
      child.stdout?.on('data', (data: Buffer) => {
        out += data.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) {
          clearTimeout(timer);
          resolve(`http://${HOST}:${(JSON.parse(line) as { port: number }).port}/`);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`receiver exited (${code ?? signal}): ${this.#stderr}`));
      });
    });
    return { child, url };
  }

  /**
   * Crashes the process in `slot` mid-handler (SIGUSR2 arms its SIGKILL, see fault-receiver.mjs),
   * waits for it to die, then starts a replacement in the slot after `restartAfterMs`. Answers
   * the exit signal of the crashed process.
   */
  async crash(slot: number, restartAfterMs: number): Promise<string | null> {
    const { child } = this.#processes[slot]!;
    child.kill('SIGUSR2');
    const gone = await Promise.race([exited(child).then(() => true), sleep(20_000)]);
    if (!gone) {
      child.kill('SIGKILL');
      throw new Error('the receiver found no moment with a handler at work within 20 s');
    }
    await sleep(restartAfterMs);
    const replacement = await this.#spawn();
    this.#processes[slot] = replacement;
    this.#urls[slot] = replacement.url;
    return child.signalCode;
  }

  /** Stops every process gracefully (SIGTERM: drain, then exit), SIGKILL after 12 s. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#processes.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const kill = setTimeout(() => child.kill('SIGKILL'), 12_000);
        child.kill('SIGTERM');
        await exited(child);
        clearTimeout(kill);
      }),
    );
  }
}

/** What the handlers' ledger files say. */
export interface LedgerSummary {
  /** Completed handler runs, all keys together. */
  runs: number;
  /** When each handler run completed (ms since the epoch), in file order. */
  doneAt: number[];
  /** Keys never completed by a handler. */
  lost: string[];
  /** Keys completed by a handler more than once. */
  doubled: string[];
  /** Handler throws on purpose (first attempts of flaky tasks). */
  throws: number;
  /** Keys whose handler threw at least once. */
  thrown: Set<string>;
  /** Store failures reported to `onError`, by phase (`complete`, `extend`, `release`). */
  storeErrors: Record<string, number>;
  /** Handlers at work when a process crashed itself, one number per crash. */
  killedInFlight: number[];
  /** Store-call durations in ms, by operation, from the processes that shut down cleanly. */
  latency: Record<string, number[]>;
  /** Error and warning lines the receivers logged. */
  logs: string[];
}

/** Reads every ledger file in `dir` and counts runs per key of `keys`. */
export function readLedger(dir: string, keys: readonly string[]): LedgerSummary {
  const runs = new Map<string, number>();
  const summary: LedgerSummary = {
    runs: 0,
    doneAt: [],
    lost: [],
    doubled: [],
    throws: 0,
    thrown: new Set(),
    storeErrors: {},
    killedInFlight: [],
    latency: {},
    logs: [],
  };
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      // Each line: `<kind> <fields...> @<ms>`.
      const at = / @(\d+)$/.exec(line);
      const [kind, ...rest] = (at ? line.slice(0, at.index) : line).split(' ');
      if (kind === 'done') {
        runs.set(rest[0]!, (runs.get(rest[0]!) ?? 0) + 1);
        summary.runs++;
        if (at) summary.doneAt.push(Number(at[1]));
      } else if (kind === 'throw') {
        summary.throws++;
        summary.thrown.add(rest[0]!);
      } else if (kind === 'error') {
        summary.storeErrors[rest[0]!] = (summary.storeErrors[rest[0]!] ?? 0) + 1;
      } else if (kind === 'kill') {
        summary.killedInFlight.push(Number(rest[0]));
      } else if (kind === 'latency') {
        const measured = JSON.parse(rest.join(' ')) as Record<string, number[]>;
        for (const [op, values] of Object.entries(measured)) {
          summary.latency[op] = [...(summary.latency[op] ?? []), ...values];
        }
      } else if (kind === 'log') {
        if (summary.logs.length < 2_000) summary.logs.push(rest.join(' '));
      }
    }
  }
  summary.lost = keys.filter((key) => !runs.has(key));
  summary.doubled = keys.filter((key) => (runs.get(key) ?? 0) > 1);
  return summary;
}

/** The `p`-th percentile (0..100) of `values`, or `undefined` when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
