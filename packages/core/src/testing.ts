/**
 * Helpers for your own tests: build a task the way Ittybit sends it, sign it, and get the exact
 * body and headers of a delivery.
 *
 * ```ts
 * import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
 * const { body, headers } = await createTestDelivery(createTestTask({ metadata: { exportId: 'e1' } }), 'whsec');
 * await fetch('http://127.0.0.1:3000/webhooks/ittybit', { method: 'POST', body, headers });
 * ```
 */
import { signPayload } from './signature.js';

export { signPayload };

/** A task as Ittybit's webhook guide sends it (sender format, before normalisation). */
export interface SenderTask {
  id: string;
  status: string;
  kind?: string;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  metadata?: Record<string, unknown>;
  created_at?: number;
  completed_at?: number;
  [key: string]: unknown;
}

let sequence = 0;

function nextId(): string {
  sequence += 1;
  const random = crypto.randomUUID().replaceAll('-', '').slice(0, 12);
  return `task_test${sequence.toString(36)}${random}`;
}

/**
 * A sender-format task with a fresh id; `status: 'failed'` swaps `output` for an `error`.
 * Timestamps are now, in milliseconds.
 */
export function createTestTask(overrides: Partial<SenderTask> = {}): SenderTask {
  const now = Date.now();
  const status = overrides.status ?? 'succeeded';
  const base: SenderTask = {
    id: nextId(),
    status,
    kind: 'video',
    input: 'https://example.com/uploads/source.mov',
    metadata: {},
    created_at: now - 60_000,
    completed_at: now,
  };
  if (status === 'succeeded' || status === 'completed' || status === 'ready') {
    base.output = {
      url: `https://cdn.example.com/${base.id}.mp4`,
      format: 'mp4',
      width: 1920,
      height: 1080,
      duration: 124.5,
      size: 48_230_912,
    };
  } else if (status === 'failed' || status === 'error') {
    base.error = 'Input file could not be decoded';
  }
  return { ...base, ...overrides };
}

/** A signed delivery of `task` (an object, or the exact body text), ready to POST. */
export async function createTestDelivery(
  task: SenderTask | Record<string, unknown> | string,
  secret: string,
): Promise<{ body: string; headers: Record<string, string> }> {
  const body = typeof task === 'string' ? task : JSON.stringify(task);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'ittybit-signature': await signPayload(body, secret),
    },
  };
}
