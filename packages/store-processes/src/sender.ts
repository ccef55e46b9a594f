/**
 * A sender that behaves like Ittybit's, for the fault suite: every task is one signed event,
 * delivered as several concurrent copies (the same body and event id, as a retried delivery
 * arrives). Each copy is retried on 5xx, timeouts and connection errors with exponential backoff
 * and jitter, each retry to the next receiver (a load balancer); a 2xx or any 4xx ends it. It talks
 * to 127.0.0.1 only and stops at a deadline.
 */
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One task to deliver: its signed event and how its handler should behave. */
export interface PlannedTask {
  /** The event id: the delivery key the receiver deduplicates on. */
  key: string;
  body: string;
  headers: Record<string, string>;
}

/** How the handler of each task behaves, read from the event's `metadata`. */
export interface TaskPlan {
  /** How long the handler works, in ms. */
  workMs: number;
  /** Whether the handler throws on the first attempt of each copy. */
  flaky: boolean;
}

/** Builds and signs `count` task events; `plan(i)` says how handler `i` behaves. */
export async function planTasks(
  count: number,
  secret: string,
  plan: (index: number) => TaskPlan,
): Promise<PlannedTask[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const metadata = { ...plan(i) };
      const event = createTestEvent(i % 10 === 9 ? 'task.failed' : 'task.succeeded', {
        metadata,
      });
      const { body, headers } = await createTestDelivery(event, secret);
      return { key: event.id, body, headers };
    }),
  );
}

/** What the sender saw. */
export interface SendCounts {
  /** Copies sent: tasks times copies. */
  deliveries: number;
  /** HTTP requests, retries included. */
  requests: number;
  /** Copies that ended with a 200 (the handler ran, or a duplicate). */
  ok: number;
  /** Of those, 200s marked `Ittybit-Webhook-Duplicate: true`. */
  duplicates: number;
  /** Answers by status, e.g. `{ 503: 120, 500: 61 }`, and `timeout` / `network` errors. */
  failures: Record<string, number>;
  /** Copies that ended with a 4xx (final: the sender gives up on them). */
  rejected: number;
  /** Copies without a 2xx or 4xx by the deadline. */
  undelivered: number;
  /** Wall time, in ms. */
  ms: number;
}

/** Options of {@link send}. */
export interface SendOptions {
  /** The receivers' URLs, read at each attempt (a restarted receiver gets a new URL). */
  urls: () => readonly string[];
  tasks: readonly PlannedTask[];
  /** Concurrent copies of each task (default 3). */
  copies?: number;
  /** Tasks in flight at once (default 40). */
  concurrency?: number;
  /** Per-request timeout, like the sender's ~5 s budget (default 5,000). */
  requestTimeoutMs?: number;
  /** First retry delay (default 250); doubled per attempt, up to {@link SendOptions.maxDelayMs}. */
  baseDelayMs?: number;
  /** Longest retry delay (default 3,000). */
  maxDelayMs?: number;
  /** When every copy still retrying gives up, in ms from the start. */
  deadlineMs: number;
  /** Called after each copy ends, with how many have ended. */
  onProgress?: (ended: number, total: number) => void;
}

/** Delivers every task `copies` times concurrently, retrying like the sender. */
export async function send(options: SendOptions): Promise<SendCounts> {
  const copies = options.copies ?? 3;
  const timeout = options.requestTimeoutMs ?? 5_000;
  const base = options.baseDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 3_000;
  const started = Date.now();
  const deadline = started + options.deadlineMs;
  const total = options.tasks.length * copies;
  const counts: SendCounts = {
    deliveries: total,
    requests: 0,
    ok: 0,
    duplicates: 0,
    failures: {},
    rejected: 0,
    undelivered: 0,
    ms: 0,
  };
  const fail = (what: string) => {
    counts.failures[what] = (counts.failures[what] ?? 0) + 1;
  };
  let ended = 0;

  const deliverCopy = async (task: PlannedTask, first: number) => {
    for (let attempt = 1; ; attempt++) {
      const urls = options.urls();
      counts.requests++;
      try {
        const response = await fetch(urls[(first + attempt - 1) % urls.length]!, {
          method: 'POST',
          headers: { ...task.headers, 'x-fault-attempt': String(attempt) },
          body: task.body,
          signal: AbortSignal.timeout(timeout),
        });
        await response.arrayBuffer();
        if (response.status >= 200 && response.status < 300) {
          counts.ok++;
          if (response.headers.get('ittybit-webhook-duplicate') === 'true') counts.duplicates++;
          break;
        }
        if (response.status >= 400 && response.status < 500) {
          counts.rejected++;
          break;
        }
        fail(String(response.status));
      } catch (error) {
        fail((error as Error).name === 'TimeoutError' ? 'timeout' : 'network');
      }
      const delay = Math.min(maxDelay, base * 2 ** (attempt - 1)) * (0.5 + Math.random());
      if (Date.now() + delay > deadline) {
        counts.undelivered++;
        break;
      }
      await sleep(delay);
    }
    ended++;
    options.onProgress?.(ended, total);
  };

  let next = 0;
  const worker = async () => {
    while (next < options.tasks.length) {
      const index = next++;
      const task = options.tasks[index]!;
      await Promise.all(Array.from({ length: copies }, (_, c) => deliverCopy(task, index + c)));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 40 }, worker));
  counts.ms = Date.now() - started;
  return counts;
}
