import { createReceiver, type ReceiverOptions } from '@ittybit-webhooks/core';
import { afterAll, describe, expect, it } from 'vitest';
import { adapters } from '../src/adapters.js';
import { type Case, cases, type Outcome, SECRET, view } from '../src/cases.js';
import { HANDLER_NAMES, Recorder, within } from '../src/recorder.js';
import type { Running } from '../src/servers.js';

/** case name -> adapter name -> ✓ / ✗ */
const results = new Map<string, Map<string, string>>();
const notes = new Set<string>();
const open = new Set<Running>();

function record(caseName: string, adapterName: string, mark: string): void {
  const row = results.get(caseName) ?? new Map<string, string>();
  row.set(adapterName, mark);
  results.set(caseName, row);
}

function family(adapterName: string): string {
  return adapterName.split(' ')[0]!;
}

function outcomeFor(c: Case, adapterName: string): Outcome {
  return c.expectedFor?.[family(adapterName)] ?? c.expected;
}

function printTable(): void {
  const columns = adapters.map((a) => a.name);
  const width = Math.max(...cases.map((c) => c.name.length));
  const lines = [
    `${'case'.padEnd(width)} | ${columns.join(' | ')}`,
    `${'-'.repeat(width)}-|-${columns.map((c) => '-'.repeat(c.length)).join('-|-')}`,
  ];
  for (const c of cases) {
    const row = results.get(c.name);
    const marks = columns.map((name) => (row?.get(name) ?? '-').padEnd(name.length));
    lines.push(`${c.name.padEnd(width)} | ${marks.join(' | ')}`);
  }
  for (const note of notes) lines.push(`note: ${note}`);
  console.log(`\nConformance: case x adapter\n${lines.join('\n')}\n`);
}

afterAll(async () => {
  await Promise.all([...open].map((server) => within(server.close(), 5000, 'close timed out')));
  printTable();
});

describe.each(adapters)('$name', (adapter) => {
  it.each(cases)('$name', async (c) => {
    const outcome = outcomeFor(c, adapter.name);
    if (outcome.note) notes.add(`${c.name} (${family(adapter.name)}): ${outcome.note}`);
    const rec = new Recorder();
    const options: ReceiverOptions<Record<string, unknown>, unknown> = {
      secret: SECRET,
      onSucceeded: rec.handler('onSucceeded'),
      onFailed: rec.handler('onFailed'),
      onCancelled: rec.handler('onCancelled'),
      onUpdate: rec.handler('onUpdate'),
      logger: rec.logger,
      onError: rec.onError,
      ...c.options,
    };
    const receiver = c.readyReceiver ? createReceiver(options) : undefined;
    let passed = false;
    const server = await adapter.start(receiver ?? options, c.mount ?? 'route');
    open.add(server);
    try {
      const env = { url: server.url, rec, receiver, adapter };
      const answers = await c.send(env);
      expect(answers.map((a, i) => view(a, outcome.answers[i] ?? outcome.answers[0]!))).toEqual(
        outcome.answers,
      );
      const zero = Object.fromEntries(HANDLER_NAMES.map((name) => [name, 0]));
      expect(rec.counts(), 'handler calls').toEqual({ ...zero, ...outcome.calls });
      await outcome.check?.(env);
      passed = true;
    } finally {
      record(c.name, adapter.name, passed ? '✓' : '✗');
      open.delete(server);
      await within(server.close(), 5000, `${adapter.name} server did not close within 5 s`);
    }
  });
});
