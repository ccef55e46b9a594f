import { createReceiver } from '@ittybit-webhooks/core';
import { afterAll, describe, expect, it } from 'vitest';
import { adapters } from '../src/adapters.js';
import { type CaseEnv, outcomeFor, view } from '../src/case.js';
import { cases } from '../src/cases/index.js';
import { SECRET } from '../src/deliveries.js';
import { Recorder, recordingOptions, within } from '../src/recorder.js';

/** case name -> adapter name -> ✓ / ✗ */
const results = new Map<string, Map<string, string>>();
const notes = new Set<string>();

function record(caseName: string, adapterName: string, mark: string): void {
  const row = results.get(caseName) ?? new Map<string, string>();
  row.set(adapterName, mark);
  results.set(caseName, row);
}

function printTable(): void {
  const columns = adapters.map((a) => a.name);
  const width = Math.max(...cases.map((c) => c.name.length));
  const lines = [
    `${'case'.padEnd(width)} | ${columns.join(' | ')}`,
    `${'-'.repeat(width)}-|-${columns.map((c) => '-'.repeat(c.length)).join('-|-')}`,
  ];
  let passed = 0;
  for (const c of cases) {
    const row = results.get(c.name);
    const marks = columns.map((name) => (row?.get(name) ?? '-').padEnd(name.length));
    passed += columns.filter((name) => row?.get(name) === '✓').length;
    lines.push(`${c.name.padEnd(width)} | ${marks.join(' | ')}`);
  }
  lines.push(
    `${cases.length} cases x ${adapters.length} adapters: ${passed} of ${cases.length * adapters.length} passed`,
  );
  for (const note of notes) lines.push(`note: ${note}`);
  console.log(`\nConformance: case x adapter\n${lines.join('\n')}\n`);
}

afterAll(printTable);

describe.each(adapters)('$name', (adapter) => {
  it.each(cases)('$name', async (c) => {
    const outcome = outcomeFor(c, adapter);
    if (outcome.note) notes.add(`${c.name} (${adapter.name}): ${outcome.note}`);
    const rec = new Recorder();
    const options = { ...recordingOptions(rec, SECRET), ...c.options?.(rec) };
    const receiver = c.readyReceiver ? createReceiver(options) : undefined;
    let passed = false;
    const server = await adapter.start(receiver ?? options, c.start ?? {});
    try {
      const env: CaseEnv = { url: server.url, rec, receiver, adapter, sent: [] };
      const answers = await c.send(env);
      expect(answers.map((a, i) => view(a, outcome.answers[i] ?? outcome.answers[0]!))).toEqual(
        outcome.answers,
      );
      expect(rec.counts(), 'handler calls').toEqual(outcome.calls);
      await outcome.check?.(env);
      passed = true;
    } finally {
      record(c.name, adapter.name, passed ? '✓' : '✗');
      await within(server.close(), 5000, `${adapter.name} server did not close within 5 s`);
    }
  });
});
