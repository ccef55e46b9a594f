import { describe, expect, it } from 'vitest';
import { adapters } from '../../conformance/src/adapters.js';
import { runFuzz, summaryTable } from '../src/harness.js';
import { KINDS } from '../src/kinds.js';

/** The four adapters every run covers at full scale; the other rows of the conformance list run lighter. */
const PRIMARY = [
  'express 5 (app.post)',
  'fastify 5 (register, path)',
  'koa 3 (router.post)',
  'web (hono app.post)',
];

// FUZZ_SEED replays a run; FUZZ_KIND and FUZZ_ADAPTER (comma lists, adapters by name prefix)
// narrow it to a failing batch; FUZZ_SCALE multiplies the runs of every kind; FUZZ_VERBOSE=1
// prints each batch as it ends.
const env = process.env;
const seed = env.FUZZ_SEED
  ? Number(env.FUZZ_SEED)
  : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
const scale = Number(env.FUZZ_SCALE ?? 1);
const only = (list: string | undefined) =>
  list
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const kindNames = only(env.FUZZ_KIND);
const adapterNames = only(env.FUZZ_ADAPTER);
const kinds = kindNames ? KINDS.filter((k) => kindNames.includes(k.name)) : KINDS;
const chosen = adapterNames
  ? adapters.filter((a) => adapterNames.some((name) => a.name.startsWith(name)))
  : adapters;
const full = !kindNames && !adapterNames && scale >= 1;

describe('HTTP fuzz (docs/design.md#answers)', () => {
  it(`every adapter answers every kind of bad input from the answer table (seed ${seed})`, async () => {
    expect(PRIMARY.filter((name) => !adapters.some((a) => a.name === name))).toEqual([]);
    console.log(
      `fuzz: seed ${seed}, ${kinds.length} kinds x ${chosen.length} adapters (replay: FUZZ_SEED=${seed} npm run test:fuzz)`,
    );
    const report = await runFuzz({
      seed,
      kinds,
      adapters: chosen,
      scale,
      primary: PRIMARY,
      secondaryScale: 0.25,
      budgetMs: Number(env.FUZZ_BUDGET_MS ?? 150_000),
      log: env.FUZZ_VERBOSE ? (line) => console.log(line) : undefined,
    });
    let primaryRequests = 0;
    for (const byAdapter of report.counts.values()) {
      for (const name of PRIMARY) {
        for (const count of byAdapter.get(name)?.values() ?? []) primaryRequests += count;
      }
    }
    console.log(
      `\nfuzz: ${report.requests} requests (${primaryRequests} on ${PRIMARY.join(', ')}), ${kinds.length} kinds, ${chosen.length} adapters, ${Math.round(report.ms / 1000)} s (CPU ${Math.round(report.cpuMs / 1000)} s), seed ${seed}\n${summaryTable(
        report,
        chosen.map((a) => a.name),
      )}\n`,
    );
    const failures = report.failures.map(
      (f) =>
        `${f.kind} on ${f.adapter} [${f.categories.join(', ')}]\n  replay: FUZZ_SEED=${seed} FUZZ_KIND=${f.kind} FUZZ_ADAPTER='${f.adapter}' npm run test:fuzz  (fast-check seed ${f.seed}, path ${f.path})\n${f.message}`,
    );
    if (failures.length > 0) {
      console.log(`fuzz failures (the smallest request found):\n\n${failures.join('\n\n')}`);
    }
    if (report.problems.length > 0) console.log(`fuzz problems:\n${report.problems.join('\n')}`);
    expect(
      report.problems,
      'crashes, pollution, unsigned bodies reaching a handler or the store',
    ).toEqual([]);
    expect(
      failures.map((f) => f.split('\n')[0]),
      'kinds x adapters with a violation',
    ).toEqual([]);
    // Past the time budget the remaining batches are skipped: on the other rows that is a note,
    // on the four main ones a failure.
    if (report.skipped.length > 0) {
      console.log(`fuzz: not run within the time budget: ${report.skipped.join('; ')}`);
    }
    expect(
      report.skipped.filter((batch) => PRIMARY.some((name) => batch.endsWith(` on ${name}`))),
      'batches on the main adapters not run within the time budget',
    ).toEqual([]);
    if (full) {
      expect(kinds.length).toBeGreaterThanOrEqual(25);
      expect(primaryRequests).toBeGreaterThanOrEqual(10_000);
    }
  }, 200_000);
});
