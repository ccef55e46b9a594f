import http from 'node:http';
import https from 'node:https';
import { signPayload } from '@ittybit-webhooks/core/testing';

/** How a delivery is retried: the real sender retries 5xx, timeouts and connection errors. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** Delay before the second attempt; doubled for each one after (default 500 ms). */
  backoffMs?: number;
  /** Longest delay between two attempts (default 30 s). */
  maxBackoffMs?: number;
  /** How long one attempt may take, connect to last response byte (default 5 s, like the sender). */
  timeoutMs?: number;
  /** Random "full jitter" on each delay; off by default so runs are repeatable. */
  jitter?: boolean;
}

/** One POST of a delivery and what came back. */
export interface AttemptResult {
  /** 1 for the first attempt. */
  attempt: number;
  /** HTTP status, when an answer came. */
  status?: number;
  /** Why no answer came (`ECONNREFUSED`, `ETIMEDOUT`, ...). */
  error?: string;
  /** Milliseconds from sending to the end of the answer (or the error). */
  latencyMs: number;
  /** The receiver marked this answer as a duplicate (`ittybit-webhook-duplicate: true`). */
  duplicate: boolean;
  /** The `Retry-After` header of the answer, if any. */
  retryAfter?: string;
  /** The answer's body, cut to 1 KiB. */
  body?: string;
}

/** The outcome of one delivery after every retry. */
export interface DeliveryResult {
  /** Position of this delivery in a batch (1-based). */
  index: number;
  /** The task id of the body, when it has one. */
  taskId: string;
  /** True when the last attempt was answered 2xx. */
  ok: boolean;
  /** The final HTTP status; absent when the last attempt got no answer. */
  status?: number;
  /** Every attempt, in order. */
  attempts: AttemptResult[];
  /** Milliseconds from the first attempt to the end of the last. */
  latencyMs: number;
  /** The final answer said duplicate. */
  duplicate: boolean;
  /** Why the last attempt got no answer. */
  error?: string;
}

/** What {@link sendDelivery} needs. */
export interface SendDeliveryOptions extends RetryOptions {
  /** The endpoint, `http:` or `https:`. */
  url: string | URL;
  /** The exact body bytes (a string is sent as UTF-8). */
  body: Uint8Array | string;
  /** The webhook secret the body is signed with. */
  secret: string;
  /** Shown in results; read from the body when absent. */
  taskId?: string;
  /** Position in a batch (default 1). */
  index?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Overrides the computed signature (e.g. to send a forged one). */
  signature?: string;
  /** Called after each attempt (progress output). */
  onAttempt?: (attempt: AttemptResult, delivery: { index: number; taskId: string }) => void;
  /** Stops waiting between attempts. */
  signal?: AbortSignal;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 5,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  timeoutMs: 5_000,
  jitter: false,
};

const MAX_BODY_KEPT = 1024;

/** True when the sender would try again after this attempt: 5xx, a timeout or a connection error. */
export function isRetryable(attempt: Pick<AttemptResult, 'status'>): boolean {
  return attempt.status === undefined || attempt.status >= 500;
}

/**
 * Delay before attempt `attempt + 1`: `backoffMs * 2^(attempt-1)` capped at `maxBackoffMs`; with
 * `jitter`, a random value between 0 and that.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'backoffMs' | 'maxBackoffMs' | 'jitter'> = {},
  random: () => number = Math.random,
): number {
  const base = options.backoffMs ?? DEFAULT_RETRY.backoffMs;
  const cap = options.maxBackoffMs ?? DEFAULT_RETRY.maxBackoffMs;
  const delay = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return options.jitter ? Math.floor(random() * delay) : delay;
}

/** The `id` of a task body (also inside an event envelope's `data`), or `undefined`. */
export function taskIdOf(body: Uint8Array | string): string | undefined {
  try {
    const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
    const parsed = JSON.parse(text) as { id?: unknown; object?: unknown; data?: { id?: unknown } };
    const id = parsed?.object === 'event' ? parsed.data?.id : parsed?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? e.message : String(error);
}

/** POSTs once; never rejects: a missing answer comes back as `error`. */
function postOnce(
  url: URL,
  body: Uint8Array,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<Omit<AttemptResult, 'attempt'>> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'attempt' | 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const transport = url.protocol === 'https:' ? https : http;
    // A fresh connection per attempt (agent: false), as a sender retrying later would open.
    const request = transport.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    const timer = setTimeout(() => {
      finish({ error: 'ETIMEDOUT', duplicate: false });
      request.destroy();
    }, timeoutMs);
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < MAX_BODY_KEPT) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      const done = () => {
        const retryAfter = response.headers['retry-after'];
        finish({
          status: response.statusCode ?? 0,
          duplicate: response.headers['ittybit-webhook-duplicate'] === 'true',
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_KEPT),
        });
      };
      response.on('end', done);
      // The receiver may close right after answering (e.g. 413 before reading the body).
      response.on('error', done);
      response.on('close', done);
    });
    request.on('error', (error) => {
      // An answer that already arrived wins over a write error on a socket the receiver closed
      // (e.g. EPIPE after an early 413): the response's own events finish the attempt.
      if (!answered) finish({ error: errorCode(error), duplicate: false });
    });
    request.end(body);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Delivers one signed body the way Ittybit does: `POST` with `Content-Type: application/json` and
 * `Ittybit-Signature` (lowercase hex HMAC-SHA256 of the exact bytes), retrying 5xx answers,
 * timeouts and connection errors with exponential backoff; a 4xx answer is final. Never rejects
 * for network errors: the result says how it ended.
 */
export async function sendDelivery(options: SendDeliveryOptions): Promise<DeliveryResult> {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  const bytes =
    typeof options.body === 'string' ? new TextEncoder().encode(options.body) : options.body;
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? DEFAULT_RETRY.maxAttempts));
  const timeoutMs = options.timeoutMs ?? DEFAULT_RETRY.timeoutMs;
  const index = options.index ?? 1;
  const taskId = options.taskId ?? taskIdOf(bytes) ?? '(no id)';
  const signature = options.signature ?? (await signPayload(bytes, options.secret));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'ittybit-webhooks-cli',
    ...options.headers,
    'ittybit-signature': signature,
  };

  const attempts: AttemptResult[] = [];
  const started = performance.now();
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const result: AttemptResult = {
      attempt,
      ...(await postOnce(url, bytes, headers, timeoutMs)),
    };
    attempts.push(result);
    options.onAttempt?.(result, { index, taskId });
    if (!isRetryable(result) || attempt === maxAttempts || options.signal?.aborted) break;
    await sleep(backoffDelay(attempt, options), options.signal);
  }
  const last = attempts[attempts.length - 1]!;
  return {
    index,
    taskId,
    ok: last.status !== undefined && last.status >= 200 && last.status < 300,
    ...(last.status !== undefined ? { status: last.status } : {}),
    attempts,
    latencyMs: Math.round(performance.now() - started),
    duplicate: last.duplicate,
    ...(last.error !== undefined ? { error: last.error } : {}),
  };
}

/** What {@link sendDeliveries} needs: one body, sent `times` times. */
export interface SendDeliveriesOptions extends Omit<SendDeliveryOptions, 'index'> {
  /** How many times the same body is delivered (duplicates; default 1). */
  times?: number;
  /** How many deliveries run at once (default 1: one after another). */
  concurrency?: number;
}

/**
 * Delivers the same signed body `times` times, `concurrency` at a time, as a sender whose
 * retries overlap would. Results are in delivery order.
 */
export async function sendDeliveries(options: SendDeliveriesOptions): Promise<DeliveryResult[]> {
  const times = Math.max(1, Math.floor(options.times ?? 1));
  const concurrency = Math.max(1, Math.min(times, Math.floor(options.concurrency ?? 1)));
  const { times: _t, concurrency: _c, ...single } = options;
  const results: DeliveryResult[] = new Array(times);
  let next = 0;
  const worker = async () => {
    while (next < times) {
      const i = next++;
      results[i] = await sendDelivery({ ...single, index: i + 1 });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
