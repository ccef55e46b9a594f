// Timing and allocation helpers shared by the sections. Every comparison is interleaved (ours,
// theirs, ours, theirs...) in one process, and each ratio is taken from one adjacent pair, so a
// slower or faster moment of the machine moves both sides of a ratio alike.
import { GCProfiler, getHeapStatistics } from 'node:v8';

export const QUICK = process.env.BENCH_QUICK === '1';

/** Median of a list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `{ median, min, max }` of a list of numbers. */
export function spread(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Nanoseconds per call of `fn(start + i)` over `n` calls, each awaited. `clock: 'cpu'` counts the
 * CPU time of this process (user + system, every thread, GC included) rather than elapsed time,
 * so that other work on the machine does not count against either side of a ratio; the store
 * section, which waits on the network, uses elapsed time.
 */
export async function timeBatch(fn, n, start = 0, clock = 'wall') {
  if (clock === 'cpu') {
    const begin = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn(start + i);
    const used = process.cpuUsage(begin);
    return ((used.user + used.system) * 1000) / n;
  }
  const begin = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(start + i);
  return Number(process.hrtime.bigint() - begin) / n;
}

/** Calls of `fn` that fill about `targetMs` (at least `min`), from a short trial run. */
export async function callsFor(fn, targetMs, min = 5) {
  const trialNs = Math.min(20, targetMs) * 1e6;
  let n = 1;
  let ns = await timeBatch(fn, n, 0, 'cpu');
  while (ns * n < trialNs && n < 1e6) {
    n *= 4;
    ns = await timeBatch(fn, n, 0, 'cpu');
  }
  return Math.max(min, Math.round((targetMs * 1e6) / ns));
}

/**
 * Compares `ours` with `theirs`, interleaved: after a warm-up of each, `pairs` pairs of batches of
 * `calls` calls each (ours first in even pairs, theirs first in odd ones), timed by `clock` (see
 * {@link timeBatch}). Each side keeps its own call counter (so each gets fresh inputs when its
 * function indexes a pool). Returns the median time per call of each side and the ratio
 * ours / theirs: median and range over the pairs.
 */
export async function compare(ours, theirs, { calls, pairs, warmup = calls, clock = 'cpu' }) {
  const counters = { ours: 0, theirs: 0 };
  const run = async (side, fn, n) => {
    const ns = await timeBatch(fn, n, counters[side], clock);
    counters[side] += n;
    return ns;
  };
  await run('ours', ours, warmup);
  await run('theirs', theirs, warmup);
  const oursNs = [];
  const theirsNs = [];
  const ratios = [];
  for (let p = 0; p < pairs; p++) {
    // Which side goes first alternates, so that a drift in the machine's speed (or a collection
    // one side's garbage sets off in the next batch) does not always land on the same side.
    const b0 = p % 2 === 1 ? await run('theirs', theirs, calls) : undefined;
    const a = await run('ours', ours, calls);
    const b = b0 ?? (await run('theirs', theirs, calls));
    oursNs.push(a);
    theirsNs.push(b);
    ratios.push(a / b);
  }
  return {
    oursUs: median(oursNs) / 1000,
    theirsUs: median(theirsNs) / 1000,
    ratio: spread(ratios),
    calls: counters,
  };
}

/**
 * JS heap allocated per call of `fn`, GC pause per call, and what stays on the heap after a full
 * GC. Needs `--expose-gc`. Allocation is the growth of the used heap plus what each GC during the
 * run freed (V8's GC profiler reports the heap before and after each collection); Buffer contents
 * live outside the JS heap and are not counted.
 */
export async function allocation(fn, n, start = 0) {
  const gc = globalThis.gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const before = getHeapStatistics().used_heap_size;
  const profiler = new GCProfiler();
  profiler.start();
  for (let i = 0; i < n; i++) await fn(start + i);
  const { statistics } = profiler.stop();
  const end = getHeapStatistics().used_heap_size;
  let freed = 0;
  let pauseUs = 0;
  for (const s of statistics) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    pauseUs += s.cost;
  }
  gc();
  gc();
  const retained = getHeapStatistics().used_heap_size - before;
  return {
    bytesPerCall: (end - before + freed) / n,
    gcPauseUsPerCall: pauseUs / n,
    gcs: statistics.length,
    heapAfterGcBytes: retained,
  };
}

/** Current 1-minute load average. */
export async function loadAverage() {
  const { loadavg } = await import('node:os');
  return loadavg()[0];
}
