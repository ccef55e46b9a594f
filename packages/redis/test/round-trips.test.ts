// Round trips per delivery, counted by the server itself (MONITOR) on a redis-server of the
// test's own: a fresh delivery costs 2 commands (EVALSHA acquire, EVALSHA complete), a duplicate 1,
// with ioredis, node-redis v4/v5 and both Cluster clients. An empty script cache (restart,
// failover, SCRIPT FLUSH) costs one EVAL per script, once. Every command a script runs names only
// the key it was given (Cluster-safe).
import { createTestTask, type SenderTask } from '@ittybit-webhooks/core/testing';
import { type FaultReceiver, faultReceiver } from '@ittybit-webhooks/store-processes';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClientLike, RedisStore } from '../src/index.js';
import { type PrivateRedis, redisServerInstalled, startPrivateRedis } from './private-server.js';

const HOST = '127.0.0.1';

interface Command {
  name: string;
  args: string[];
  /** Run by a script (`lua`) rather than sent by a client. */
  lua: boolean;
}

/** Topology and health checks Cluster clients send on their own; not the store's commands. */
const HOUSEKEEPING = new Set(['cluster', 'ping', 'info', 'client', 'hello', 'readonly', 'select']);

/** What the server ran, from MONITOR, cut into windows by {@link CommandLog.take}. */
class CommandLog {
  #admin: Redis;
  #monitor: Redis;
  #adminAddress: string;
  #seen: Command[] = [];
  #waiting: { token: string; resolve: () => void } | undefined;

  private constructor(admin: Redis, monitor: Redis, adminAddress: string) {
    this.#admin = admin;
    this.#monitor = monitor;
    this.#adminAddress = adminAddress;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const [name = '', ...rest] = args;
      const waiting = this.#waiting;
      if (waiting && name.toLowerCase() === 'echo' && rest[0] === waiting.token) {
        waiting.resolve();
        return;
      }
      if (source === this.#adminAddress) return;
      const command = { name: name.toLowerCase(), args: rest, lua: source === 'lua' };
      if (!command.lua && HOUSEKEEPING.has(command.name)) return;
      this.#seen.push(command);
    });
  }

  static async start(port: number): Promise<CommandLog> {
    const admin = new Redis({ host: HOST, port });
    const info = String(await admin.call('CLIENT', 'INFO'));
    const address = /(?:^|\s)addr=(\S+)/.exec(info)?.[1] ?? '';
    return new CommandLog(admin, await admin.monitor(), address);
  }

  /** Runs an admin command (not logged), e.g. SCRIPT FLUSH. */
  admin(...args: string[]): Promise<unknown> {
    const [command = '', ...rest] = args;
    return this.#admin.call(command, ...rest);
  }

  /**
   * The commands the server ran since the last call. A marker sent after them proves every
   * earlier command has reached the log (MONITOR streams in execution order).
   */
  async take(): Promise<Command[]> {
    const token = `mark:${crypto.randomUUID()}`;
    const marked = new Promise<void>((resolve) => {
      this.#waiting = { token, resolve };
    });
    await this.#admin.echo(token);
    await marked;
    const taken = this.#seen;
    this.#seen = [];
    return taken;
  }

  async close(): Promise<void> {
    this.#monitor.disconnect();
    await this.#admin.quit();
  }
}

interface ClientCase {
  name: string;
  cluster: boolean;
  connect(port: number): Promise<{ client: RedisClientLike; close(): Promise<unknown> }>;
}

const cases: ClientCase[] = [
  {
    name: 'ioredis',
    cluster: false,
    connect: async (port) => {
      const client = new Redis({ host: HOST, port });
      return { client, close: () => client.quit() };
    },
  },
  {
    name: 'node-redis v5',
    cluster: false,
    connect: async (port) => {
      const client = createClient({ socket: { host: HOST, port } });
      await client.connect();
      return { client, close: () => client.quit() };
    },
  },
  {
    name: 'node-redis v4',
    cluster: false,
    connect: async (port) => {
      const client = createClientV4({ socket: { host: HOST, port } });
      await client.connect();
      return { client, close: () => client.quit() };
    },
  },
  {
    name: 'ioredis Cluster',
    cluster: true,
    connect: async (port) => {
      const client = new Cluster([{ host: HOST, port }]);
      return { client, close: () => client.quit() };
    },
  },
  {
    name: 'node-redis v5 cluster',
    cluster: true,
    connect: async (port) => {
      const client = createCluster({ rootNodes: [{ url: `redis://${HOST}:${port}` }] });
      await client.connect();
      return { client, close: () => client.quit() };
    },
  },
];

const top = (commands: Command[]) => commands.filter((c) => !c.lua);
const names = (commands: Command[]) => top(commands).map((c) => c.name);

/** Delivers `task` and answers status and whether it was answered as a duplicate. */
async function deliver(faults: FaultReceiver, task: SenderTask) {
  const answer = await faults.deliver(task);
  return {
    status: answer.status,
    duplicate: answer.headers['ittybit-webhook-duplicate'] === 'true',
  };
}

describe.skipIf(!redisServerInstalled)('RedisStore round trips, counted by MONITOR', () => {
  const servers: Partial<Record<'plain' | 'cluster', { redis: PrivateRedis; log: CommandLog }>> =
    {};
  const measured: string[] = [];

  beforeAll(async () => {
    for (const kind of ['plain', 'cluster'] as const) {
      const redis = await startPrivateRedis({ cluster: kind === 'cluster' });
      servers[kind] = { redis, log: await CommandLog.start(redis.port) };
    }
  });
  afterAll(async () => {
    for (const server of Object.values(servers)) {
      await server.log.close();
      await server.redis.stop();
    }
    if (measured.length > 0) console.log(`[RedisStore round trips]\n${measured.join('\n')}`);
  });

  for (const c of cases) {
    it(`${c.name}: 2 per fresh delivery and 1 per duplicate, by SHA; each script on its one key`, async () => {
      const { redis, log } = servers[c.cluster ? 'cluster' : 'plain']!;
      const { client, close } = await c.connect(redis.port);
      try {
        const store = new RedisStore({ client, prefix: `rt:${c.name}:` });
        const faults = faultReceiver(store);
        await log.admin('SCRIPT', 'FLUSH');
        await log.take();

        // An empty script cache: each script is refused by SHA once, then sent whole once.
        expect(await deliver(faults, createTestTask())).toEqual({ status: 200, duplicate: false });
        expect(names(await log.take())).toEqual(['evalsha', 'eval', 'evalsha', 'eval']);

        const tasks = Array.from({ length: 10 }, () => createTestTask());
        const shas = new Set<string>();
        for (const task of tasks) {
          expect(await deliver(faults, task)).toEqual({ status: 200, duplicate: false });
          const commands = await log.take();
          expect(names(commands)).toEqual(['evalsha', 'evalsha']);
          const [acquire, complete] = top(commands);
          const key = acquire!.args[2]!;
          expect(key.startsWith(`rt:${c.name}:`)).toBe(true);
          expect(acquire!.args.slice(1, 3)).toEqual(['1', key]);
          expect(complete!.args.slice(1, 3)).toEqual(['1', key]);
          shas.add(acquire!.args[0]!).add(complete!.args[0]!);
          // What the scripts ran: GET and SET of that key, nothing else (one key: Cluster-safe).
          const lua = commands.filter((command) => command.lua);
          expect(lua.map((command) => command.name)).toEqual(['get', 'set', 'get', 'set']);
          for (const command of lua) expect(command.args[0]).toBe(key);
        }
        expect(shas.size).toBe(2);
        expect(await log.admin('SCRIPT', 'EXISTS', ...shas)).toEqual([1, 1]);

        for (const task of tasks) {
          expect(await deliver(faults, task)).toEqual({ status: 200, duplicate: true });
        }
        const duplicates = await log.take();
        expect(names(duplicates)).toEqual(tasks.map(() => 'evalsha'));
        expect(faults.runs.size).toBe(11);
        expect([...faults.runs.values()].every((n) => n === 1)).toBe(true);
        measured.push(
          `${c.name}: fresh delivery 2 round trips (first after an empty script cache: 4), duplicate 1`,
        );
      } finally {
        await close();
      }
    });
  }

  for (const c of cases.filter((each) => ['ioredis', 'node-redis v5'].includes(each.name))) {
    it(`${c.name}: SCRIPT FLUSH mid-run costs one EVAL per refused call, then SHA again; nothing runs twice`, async () => {
      const { redis, log } = servers.plain!;
      const { client, close } = await c.connect(redis.port);
      try {
        const store = new RedisStore({ client, prefix: `flush:${c.name}:` });
        let open = () => {};
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        const faults = faultReceiver(store, { afterRun: () => gate });
        await log.admin('SCRIPT', 'FLUSH');
        await deliver(faultReceiver(store), createTestTask()); // the scripts are cached again
        await log.take();

        // 20 deliveries hold their claims (handlers waiting) while the cache is flushed: each
        // complete is refused by SHA and sent whole once.
        const tasks = Array.from({ length: 20 }, () => createTestTask());
        const held = Promise.all(tasks.map((task) => deliver(faults, task)));
        while (faults.runs.size < tasks.length) await new Promise((r) => setTimeout(r, 10));
        expect(names(await log.take())).toEqual(tasks.map(() => 'evalsha'));
        for (const task of tasks) {
          expect(await deliver(faults, task)).toEqual({ status: 503, duplicate: false });
        }
        expect(names(await log.take())).toEqual(tasks.map(() => 'evalsha'));
        await log.admin('SCRIPT', 'FLUSH');
        open();
        for (const answer of await held) expect(answer).toEqual({ status: 200, duplicate: false });
        const completes = names(await log.take());
        expect(completes.filter((name) => name === 'evalsha')).toHaveLength(tasks.length);
        expect(completes.filter((name) => name === 'eval')).toHaveLength(tasks.length);
        // The acquire script was flushed too: the first duplicate pays for it, then 1 each.
        for (const task of tasks) {
          expect(await deliver(faults, task)).toEqual({ status: 200, duplicate: true });
        }
        expect(names(await log.take())).toEqual([
          'evalsha',
          'eval',
          ...tasks.slice(1).map(() => 'evalsha'),
        ]);
        expect(faults.runs.size).toBe(tasks.length);
        expect([...faults.runs.values()].every((n) => n === 1)).toBe(true);

        // Sequentially: flushed between two deliveries, the next pays 4 round trips, then 2.
        const [first, second] = [createTestTask(), createTestTask()];
        await log.admin('SCRIPT', 'FLUSH');
        expect(await deliver(faults, first!)).toEqual({ status: 200, duplicate: false });
        expect(names(await log.take())).toEqual(['evalsha', 'eval', 'evalsha', 'eval']);
        expect(await deliver(faults, second!)).toEqual({ status: 200, duplicate: false });
        expect(names(await log.take())).toEqual(['evalsha', 'evalsha']);
        expect(await deliver(faults, first!)).toEqual({ status: 200, duplicate: true });
        expect(names(await log.take())).toEqual(['evalsha']);
      } finally {
        await close();
      }
    });
  }
});
