import type { AttemptResult, DeliveryResult } from './deliver.js';

/** One attempt in a few characters: `200`, `200 dup`, `503`, `ECONNREFUSED`. */
export function describeAttempt(attempt: AttemptResult): string {
  if (attempt.status === undefined) return attempt.error ?? 'no answer';
  return attempt.duplicate ? `${attempt.status} dup` : String(attempt.status);
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * A plain-text table, one row per delivery: task id, attempts, final status, latency and every
 * answer in order (`503 → 200 dup`).
 */
export function formatTable(results: readonly DeliveryResult[]): string {
  const header = ['#', 'task id', 'attempts', 'status', 'latency', 'answers'];
  const rows = results.map((r) => [
    String(r.index),
    r.taskId,
    String(r.attempts.length),
    r.status !== undefined ? String(r.status) : (r.error ?? '-'),
    formatMs(r.latencyMs),
    r.attempts.map(describeAttempt).join(' → '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const ok = results.filter((r) => r.ok).length;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${ok} of ${results.length} ${results.length === 1 ? 'delivery' : 'deliveries'} ended 2xx`,
  ].join('\n');
}
