/**
 * The fault suite both engine stores run: what the receiver answers when the engine is
 * unreachable, hangs, or drops the connection. 503 with Retry-After within the store timeout,
 * never a hang, and never a second run of a handler. Each store brings its own clients and its
 * own way to kill a connection from the engine's side.
 */
import type { IdempotencyStore } from '@ittybit-webhooks/core';
import { createTestTask, type SenderTask } from '@ittybit-webhooks/core/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  closedPort,
  deliverUntilOk,
  type FaultReceiver,
  faultReceiver,
  TcpProxy,
} from './index.js';

/** Store call timeout of the fault tests. */
export const FAULT_TIMEOUT_MS = 500;

/**
 * Longest acceptable answer time when the store is down: the store timeout plus slack. It proves
 * nothing hangs; it is not a speed target (CI has 2 cores and runs test files in parallel).
 */
export const NO_HANG_MS = FAULT_TIMEOUT_MS + 3_000;

/** The shortest lease core accepts next to {@link FAULT_TIMEOUT_MS} (`leaseMs ≥ 4 × timeoutMs`). */
export const FAULT_LEASE_MS = 4 * FAULT_TIMEOUT_MS;

/** Expects a 503 with a numeric Retry-After, answered without hanging. */
export function expect503(answer: {
  status: number;
  headers: Record<string, string>;
  ms: number;
}): void {
  expect(answer.status).toBe(503);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  expect(answer.ms).toBeLessThan(NO_HANG_MS);
}

/**
 * Delivers `task` while `complete` fails for good, and expects what the receiver does then: it
 * retries `complete` for one lease (`leaseMs`), then answers 200 without hanging longer, with one
 * run, the failures reported and the give-up logged.
 */
async function expectOkAfterCompleteGaveUp(
  faults: FaultReceiver,
  task: SenderTask,
  leaseMs: number,
): Promise<void> {
  const answer = await faults.deliver(task);
  expect(answer.status).toBe(200);
  expect(answer.ms).toBeGreaterThanOrEqual(leaseMs - 100);
  expect(answer.ms).toBeLessThan(leaseMs + NO_HANG_MS);
  expect(faults.runs.get(task.id)).toBe(1);
  expect(new Set(faults.phases)).toEqual(new Set(['complete']));
  expect(faults.logs.join('\n')).toMatch(/could not mark it completed/);
}

/** A store whose engine is down, for {@link StoreFaultsOptions.unreachable}. */
export interface UnreachableCase {
  /** The test title, e.g. `answers 503 + Retry-After ... with node-redis`. */
  title: string;
  /** A store whose client points at `port`, where nothing listens (clean up with onTestFinished). */
  store(port: number): IdempotencyStore;
  /** Also expect the answer within the store timeout: the client fails without waiting. */
  atOnce?: boolean;
}

/** A TCP proxy in front of the engine and a store connected through it. */
export interface ProxiedStore {
  proxy: TcpProxy;
  store: IdempotencyStore;
}

/** Options of {@link describeStoreFaults}. */
export interface StoreFaultsOptions {
  /** The store class, first word of each describe title: `RedisStore`. */
  name: string;
  /** The engine, for titles: `Redis`. */
  engine: string;
  /** The engine's port on 127.0.0.1. */
  port: number;
  /** {@link serviceReachable} for the engine: the tests that need it are skipped when `false`. */
  up: boolean;
  /** Stores at a closed port; each gets a test (they need no engine). */
  unreachable: readonly UnreachableCase[];
  /** Before the tests that need the engine: admin connection, table. */
  setup?(): unknown;
  /** After them: drop what `setup` and the tests created. */
  teardown?(): unknown;
  /**
   * A store whose client talks to the engine through `proxyPort` with fail-fast settings, ready
   * for commands (clean up with onTestFinished).
   */
  proxiedStore(proxyPort: number): Promise<IdempotencyStore>;
  /** How {@link directStore}'s connections get killed, for the title: `CLIENT KILL of its connection`. */
  killedBy: string;
  /**
   * A store connected straight to the engine, with the client's ordinary settings, and a function
   * that kills its connections from the engine's side and answers how many it killed.
   */
  directStore(): Promise<{ store: IdempotencyStore; killConnections(): Promise<number> }>;
  /** Store-specific tests, added to the describe that needs the engine. */
  extraTests?(proxied: () => Promise<ProxiedStore>): void;
}

/**
 * Describes the fault tests of one store: `<name> with <engine> unreachable at a closed port`
 * (always runs) and `<name> when the connection breaks mid-run` (needs the engine).
 */
export function describeStoreFaults(options: StoreFaultsOptions): void {
  const TIMEOUT = FAULT_TIMEOUT_MS;
  const LEASE_MS = FAULT_LEASE_MS;

  describe(`${options.name} with ${options.engine} unreachable at a closed port`, () => {
    for (const unreachable of options.unreachable) {
      it(unreachable.title, async () => {
        // A fail-fast client must answer without waiting for the store timeout: give it a long
        // one (5 s) and expect the 503 well inside it, so a busy CI machine cannot flake this.
        const timeoutMs = unreachable.atOnce ? 5_000 : TIMEOUT;
        const faults = faultReceiver(unreachable.store(await closedPort()), { timeoutMs });
        const answer = await faults.deliver(createTestTask());
        expect503(answer);
        if (unreachable.atOnce) expect(answer.ms).toBeLessThan(timeoutMs / 2);
        expect(faults.runs.size).toBe(0);
      });
    }
  });

  describe.skipIf(!options.up)(`${options.name} when the connection breaks mid-run`, () => {
    beforeAll(async () => {
      await options.setup?.();
    });
    afterAll(async () => {
      await options.teardown?.();
    });

    async function proxied(): Promise<ProxiedStore> {
      const proxy = await TcpProxy.start(options.port);
      onTestFinished(() => proxy.close());
      return { proxy, store: await options.proxiedStore(proxy.port) };
    }

    it('answers 503 when the network stalls mid-run (no hang), then runs the retry once', async () => {
      const { proxy, store } = await proxied();
      // The stalled acquire reaches the engine once the network recovers, after the receiver
      // answered 503: that late claim holds the key until its lease lapses (503s meanwhile).
      const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: LEASE_MS });
      expect((await faults.deliver(createTestTask())).status).toBe(200);
      proxy.stall();
      const task = createTestTask();
      expect503(await faults.deliver(task));
      proxy.forward();
      expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
      expect(faults.runs.get(task.id)).toBe(1);
    });

    it('answers 503 when the connection is reset while acquire is in flight', async () => {
      const { proxy, store } = await proxied();
      const faults = faultReceiver(store, { timeoutMs: TIMEOUT });
      expect((await faults.deliver(createTestTask())).status).toBe(200);
      proxy.stall();
      const task = createTestTask();
      const pending = faults.deliver(task);
      await new Promise((resolve) => setTimeout(resolve, 50));
      proxy.refuse();
      expect503(await pending);
      expect(faults.runs.size).toBe(1);
      expect(faults.runs.has(task.id)).toBe(false);
      proxy.forward();
      // The lost acquire is never resent (fail-fast client, or a dead connection), so nothing is
      // left holding the key.
      expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
      expect(faults.runs.get(task.id)).toBe(1);
    });

    it(`survives ${options.killedBy}: 200 or 503, then exactly one run`, async () => {
      const { store, killConnections } = await options.directStore();
      const faults = faultReceiver(store, { timeoutMs: TIMEOUT });
      expect((await faults.deliver(createTestTask())).status).toBe(200);
      expect(await killConnections()).toBeGreaterThan(0);
      const task = createTestTask();
      const first = await faults.deliver(task);
      expect([200, 503]).toContain(first.status);
      expect(first.ms).toBeLessThan(NO_HANG_MS);
      expect((await deliverUntilOk(faults, task)).at(-1)).toBe(200);
      expect(faults.runs.get(task.id)).toBe(1);
    });

    it('retries complete when the connection is lost after the handler, so a redelivery is a duplicate', async () => {
      const { proxy, store } = await proxied();
      const faults = faultReceiver(store, {
        timeoutMs: TIMEOUT,
        leaseMs: LEASE_MS,
        afterRun: () => {
          proxy.refuse();
          setTimeout(() => proxy.forward(), 300);
        },
      });
      const task = createTestTask();
      const answer = await faults.deliver(task);
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(LEASE_MS);
      expect(faults.phases).toContain('complete');
      const again = await faults.deliver(task);
      expect(again.status).toBe(200);
      expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
      expect(faults.runs.get(task.id)).toBe(1);
    });

    it('gives complete one lease when it throws or hangs for good (a failing store wrapper), then answers 200', async () => {
      const { store: real } = await options.directStore();
      for (const failure of [
        () => Promise.reject(new Error('cannot write: the engine is read-only')),
        () => new Promise<boolean>(() => {}),
      ]) {
        const store: IdempotencyStore = {
          acquire: (...args) => real.acquire(...args),
          complete: failure,
          release: (...args) => real.release(...args),
          extend: (...args) => real.extend(...args),
        };
        const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: LEASE_MS });
        await expectOkAfterCompleteGaveUp(faults, createTestTask(), LEASE_MS);
      }
    });

    it('completes on the second try when complete throws once (a failing store wrapper)', async () => {
      const { store: real } = await options.directStore();
      let failures = 0;
      const store: IdempotencyStore = {
        acquire: (...args) => real.acquire(...args),
        complete: (...args) =>
          failures++ === 0 ? Promise.reject(new Error('connection reset')) : real.complete(...args),
        release: (...args) => real.release(...args),
        extend: (...args) => real.extend(...args),
      };
      const faults = faultReceiver(store, { timeoutMs: TIMEOUT, leaseMs: LEASE_MS });
      const task = createTestTask();
      expect((await faults.deliver(task)).status).toBe(200);
      expect(faults.phases).toEqual(['complete']);
      const again = await faults.deliver(task);
      expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
      expect(faults.runs.get(task.id)).toBe(1);
    });

    options.extraTests?.(proxied);
  });
}
