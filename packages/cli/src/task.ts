import { createTestTask, type SenderTask } from '@ittybit-webhooks/core/testing';

/** Statuses the CLI can send. */
export const SEND_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
/** Kinds the CLI can send (the sender's set is open; these are the common ones). */
export const SEND_KINDS = ['video', 'image', 'audio'] as const;

/** What a built task may be shaped by. */
export interface BuildTaskOptions {
  status?: (typeof SEND_STATUSES)[number];
  kind?: (typeof SEND_KINDS)[number] | (string & {});
  metadata?: Record<string, unknown>;
  /** A fixed task id (default: a fresh `task_...` id). */
  id?: string;
}

/**
 * A task in the sender's format (the webhook guide's shape), with a fresh id, timestamps in
 * milliseconds, `output` on success and `error` on failure.
 */
export function buildTask(options: BuildTaskOptions = {}): SenderTask {
  const status = options.status ?? 'succeeded';
  const kind = options.kind ?? 'video';
  const task = createTestTask({
    status,
    kind,
    metadata: options.metadata ?? {},
    ...(options.id ? { id: options.id } : {}),
  });
  const output = task.output as Record<string, unknown> | undefined;
  if (output && kind !== 'video') {
    const format = kind === 'image' ? 'jpg' : kind === 'audio' ? 'mp3' : 'bin';
    task.output =
      kind === 'image'
        ? { url: `https://cdn.example.com/${task.id}.${format}`, format, width: 1920, height: 1080 }
        : {
            url: `https://cdn.example.com/${task.id}.${format}`,
            format,
            duration: output.duration,
          };
  }
  return task;
}

/**
 * Parses `key=value` pairs into a metadata object (values stay strings; the first `=` splits).
 * Throws on an entry without `=` or with an empty key.
 */
export function parseMetadataPairs(pairs: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--metadata expects key=value, got "${pair}".`);
    metadata[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return metadata;
}
