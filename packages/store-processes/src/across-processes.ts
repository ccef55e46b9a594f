/**
 * The across-processes test both engine stores run: receiver processes (separate `node`
 * processes, real HTTP servers, the built dist) share one engine; 1,000 tasks are each delivered
 * 3 times, the copies racing across the processes; every task's handler must complete exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, deliverAll, type Receivers, startReceivers, summariseRuns } from './index.js';

/** What {@link AcrossProcessesOptions.setup} prepared in the engine. */
export interface AcrossProcessesEngine {
  /** Handler runs per task id, as the receivers recorded them in the engine. */
  runs(): Promise<Map<string, number>>;
  /** Handler runs of each process that ran any, when the engine records the process. */
  perProcess?(): Promise<number[]>;
  /** Drops what `setup` and the receivers created, and disconnects. */
  teardown(): Promise<void>;
}

/** Options of {@link describeAcrossProcesses}. */
export interface AcrossProcessesOptions {
  /** The describe title: `RedisStore across processes`. */
  title: string;
  /** The tag of the printed summary: `redis`. */
  label: string;
  /** {@link serviceReachable} for the engine: the tests are skipped when `false`. */
  up: boolean;
  /** Packages whose built dist the receivers import. */
  built: readonly string[];
  /** Receiver secret; the same for every process. */
  secret: string;
  /** Environment of each receiver process (`STORE`, port, prefix or table...), without `SECRET`. */
  receivers: readonly Record<string, string>[];
  /** Connects to the engine and prepares it, before the receivers start. */
  setup(): Promise<AcrossProcessesEngine>;
  /** Store-specific tests, added to the describe (after the exactly-once test). */
  extraTests?(): void;
}

/** Describes `<title>`: the exactly-once test across processes, then `extraTests`. */
export function describeAcrossProcesses(options: AcrossProcessesOptions): void {
  const { secret } = options;
  const processes = options.receivers.length;

  describe.skipIf(!options.up)(options.title, () => {
    let engine: AcrossProcessesEngine | undefined;
    let receivers: Receivers | undefined;

    beforeAll(async () => {
      assertBuilt(options.built);
      engine = await options.setup();
      receivers = await startReceivers(
        options.receivers.map((env) => ({ ...env, SECRET: secret })),
      );
    });

    afterAll(async () => {
      await receivers?.stop();
      await engine?.teardown();
    });

    it(`runs every one of 1,000 tasks exactly once, each delivered 3 times to ${processes} processes`, async () => {
      const { counts, taskIds } = await deliverAll({ urls: receivers!.urls, secret });
      const summary = summariseRuns(taskIds, await engine!.runs());
      const perProcess = await engine!.perProcess?.();
      console.log(
        `[${options.label}, ${processes} processes] deliveries ${counts.deliveries}, ` +
          `requests ${counts.requests}, 200s ${counts.ok} (duplicates ${counts.duplicates}), ` +
          `503s ${counts.unavailable}, other ${counts.other}, undelivered ${counts.undelivered}; ` +
          `handler runs ${summary.handlerRuns}` +
          (perProcess ? ` (per process ${perProcess.join(' + ')})` : '') +
          ` for ${counts.tasks} tasks, exactly once ${summary.exactlyOnce}, twice or more ` +
          `${summary.ranTwice.length}, never ${summary.neverRan.length}; ${counts.ms} ms`,
      );
      expect(receivers!.stderr()).toBe('');
      expect(counts.undelivered).toBe(0);
      expect(counts.other).toBe(0);
      expect(counts.ok).toBe(counts.deliveries);
      expect(summary.ranTwice).toEqual([]);
      expect(summary.neverRan).toEqual([]);
      expect(summary.handlerRuns).toBe(counts.tasks);
      expect(counts.duplicates).toBe(counts.deliveries - counts.tasks);
      // Every process did real work: the race was across processes, not inside one.
      if (perProcess) expect(perProcess).toHaveLength(processes);
    }, 60_000);

    options.extraTests?.();
  });
}
