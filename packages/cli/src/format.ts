import type { AttemptResult, DeliveryResult } from './deliver.js';

/** The `error` code of an answer's JSON body (`{"error":"body_consumed"}`), if it has one. */
export function answerCode(attempt: Pick<AttemptResult, 'body'>): string | undefined {
  if (!attempt.body) return undefined;
  try {
    const parsed = JSON.parse(attempt.body) as { error?: unknown };
    return typeof parsed?.error === 'string' && parsed.error !== '' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One attempt in a few words: the status, the answer's error code and the duplicate marker
 * (`200`, `200 dup`, `401 unauthorized`, `500 body_consumed`, `503 in_progress`), or why no
 * answer came (`ECONNREFUSED`, `ETIMEDOUT`).
 */
export function describeAttempt(attempt: AttemptResult): string {
  if (attempt.status === undefined) return attempt.error ?? 'no answer';
  const code = answerCode(attempt);
  return [String(attempt.status), code, attempt.duplicate ? 'dup' : undefined]
    .filter((part) => part !== undefined)
    .join(' ');
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * A plain-text table, one row per delivery: the task (or run) id, attempts, final status, latency
 * and every answer in order with its reason (`503 in_progress → 200 dup`).
 */
export function formatTable(results: readonly DeliveryResult[]): string {
  const header = ['#', 'id', 'attempts', 'status', 'latency', 'answers'];
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
