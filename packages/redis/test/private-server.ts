// A redis-server of the test's own, on a free port, for tests that must not disturb the shared
// Redis on 6379 (SCRIPT FLUSH, MONITOR, cluster mode). Started and stopped by the test.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, closedPort } from '@ittybit-webhooks/store-processes';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';

/** Whether a `redis-server` binary is on the PATH. */
export const redisServerInstalled =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export interface PrivateRedis {
  port: number;
  /** Kills the server and deletes its directory. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`private redis-server: ${what} within ${ms} ms`);
    await sleep(50);
  }
}

/**
 * Starts `redis-server` without persistence on a free port. With `cluster`, a one-node Redis
 * Cluster that owns every slot, so Cluster clients (ioredis `Cluster`, node-redis `createCluster`)
 * can talk to it.
 */
export async function startPrivateRedis(
  options: { cluster?: boolean } = {},
): Promise<PrivateRedis> {
  const port = await closedPort();
  const dir = await mkdtemp(join(tmpdir(), 'ittybit-redis-'));
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  args.push('--dir', dir);
  if (options.cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'));
    args.push('--cluster-announce-ip', HOST);
  }
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('accepting connections', () => canConnect(port, 200));
    if (options.cluster) {
      const admin = new Redis({ host: HOST, port });
      try {
        await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
        await waitFor('cluster_state:ok', async () =>
          String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
        );
      } finally {
        admin.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, stop };
}
