import { WebhookError } from './errors.js';
import { MemoryStore } from './memory-store.js';
import type { ReceiverOptions, ResolvedOptions } from './options.js';
import { secretList } from './signature.js';
import type { IdempotencyStore } from './store.js';

/** Options resolved once at creation, for the pipeline. */
export interface Settings<M, R> extends ResolvedOptions {
  secrets: string[];
  store: IdempotencyStore | undefined;
  handlers: ReceiverOptions<M, R>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_BODY_TIMEOUT = 3_000;
const DEFAULT_TTL = 72 * 60 * 60 * 1000;
const DEFAULT_LEASE = 60_000;
const DEFAULT_STORE_TIMEOUT = 2_000;
const DEFAULT_SKEW = 5 * 60 * 1000;

function invalid(message: string): WebhookError {
  return new WebhookError('invalid_options', `createReceiver: ${message}`);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw invalid(`${name} must be a positive number; got ${String(value)}.`);
  }
  return value;
}

function checkHandlers<M, R>(options: ReceiverOptions<M, R>): void {
  const on = options.on ?? {};
  if (typeof on !== 'object') throw invalid('`on` must be an object of handlers by topic.');
  const given = (value: unknown, name: string) => {
    if (value === undefined) return false;
    if (typeof value !== 'function')
      throw invalid(`\`${name}\` must be a function (payload, ctx) => {...}.`);
    return true;
  };
  const succeeded = given(options.onSucceeded, 'onSucceeded');
  const failed = given(options.onFailed, 'onFailed');
  let any = succeeded || failed;
  any = given(options.onCancelled, 'onCancelled') || any;
  any = given(options.onUpdate, 'onUpdate') || any;
  any = given(options.onUnknown, 'onUnknown') || any;
  const topics: Record<string, boolean> = {};
  for (const [topic, handler] of Object.entries(on)) {
    topics[topic] = given(handler, `on['${topic}']`);
    any = topics[topic] || any;
  }
  if (succeeded && topics['task.succeeded']) {
    throw invalid(
      "give onSucceeded or on['task.succeeded'], not both: they handle the same tasks.",
    );
  }
  if (failed && topics['task.failed']) {
    throw invalid("give onFailed or on['task.failed'], not both: they handle the same tasks.");
  }
  if (!any) {
    throw invalid(
      'no handler given. Pass onSucceeded and onFailed for finished tasks, and `on` for other topics, e.g. { onSucceeded: async (task) => {...}, onFailed: async (task) => {...} }.',
    );
  }
  const pair = (has: boolean, hasOther: boolean, name: string, other: string) => {
    if (has && !hasOther) {
      throw invalid(
        `${name} is given but ${other} is not: failures would be acknowledged and never seen. Pass ${other} too (\`() => {}\` to ignore them on purpose).`,
      );
    }
  };
  const okTask = succeeded || !!topics['task.succeeded'];
  const failTask = failed || !!topics['task.failed'];
  pair(okTask, failTask, 'onSucceeded', 'onFailed');
  pair(failTask, okTask, 'onFailed', 'onSucceeded');
  const okRun = !!topics['run.succeeded'];
  const failRun = !!topics['run.failed'];
  pair(okRun, failRun, "on['run.succeeded']", "on['run.failed']");
  pair(failRun, okRun, "on['run.failed']", "on['run.succeeded']");
}

/** Checks every option and applies the defaults; throws a clear `invalid_options` error. */
export function resolveOptions<M, R>(options: ReceiverOptions<M, R>): Settings<M, R> {
  if (!options || typeof options !== 'object') {
    throw invalid('pass an options object with `secret` and your handlers.');
  }
  const secrets = secretList(options.secret);
  if (secrets.length === 0) {
    throw invalid(
      '`secret` is missing or empty. Set it to your Ittybit webhook secret, e.g. secret: process.env.ITTYBIT_WEBHOOK_SECRET (and check that variable is set).',
    );
  }
  checkHandlers(options);
  const respond = options.respond ?? 'after-handler';
  if (respond !== 'after-handler' && respond !== 'immediately') {
    throw invalid(`respond must be 'after-handler' or 'immediately'; got ${String(respond)}.`);
  }
  const idem = options.idempotency === false ? undefined : (options.idempotency ?? {});
  const ttlMs = positive('idempotency.ttlMs', idem?.ttlMs, DEFAULT_TTL);
  const leaseMs = positive('idempotency.leaseMs', idem?.leaseMs, DEFAULT_LEASE);
  const timeoutMs = positive('idempotency.timeoutMs', idem?.timeoutMs, DEFAULT_STORE_TIMEOUT);
  if (idem && leaseMs < 4 * timeoutMs) {
    throw invalid(
      `idempotency.leaseMs (${leaseMs} ms) must be at least 4 × idempotency.timeoutMs (${timeoutMs} ms): renewals start a quarter into the lease, and one renewal may time out without the lease lapsing (a lapsed lease lets a retry run the handler a second time).`,
    );
  }
  if (idem?.key !== undefined && typeof idem.key !== 'function') {
    throw invalid('idempotency.key must be a function (payload, ctx) => string.');
  }
  const maxAgeMs =
    options.maxAgeMs === undefined ? undefined : positive('maxAgeMs', options.maxAgeMs, 0);
  if (idem && maxAgeMs !== undefined && maxAgeMs > ttlMs) {
    throw invalid(
      `maxAgeMs (${maxAgeMs} ms) is larger than idempotency.ttlMs (${ttlMs} ms): a replay arriving after its dedup record expired would pass the age check and run again. Lower maxAgeMs or raise ttlMs.`,
    );
  }
  const letters = options.deadLetters;
  if (
    letters !== undefined &&
    (typeof letters?.put !== 'function' || typeof letters.clear !== 'function')
  ) {
    throw invalid(
      'deadLetters must have put(failed) and clear(key), e.g. new MemoryDeadLetters().',
    );
  }
  if (options.telemetry !== undefined && typeof options.telemetry?.start !== 'function') {
    throw invalid(
      'telemetry must have start(request), e.g. otelTelemetry() from @ittybit-webhooks/otel.',
    );
  }
  if (options.waitUntil !== undefined && typeof options.waitUntil !== 'function') {
    throw invalid('waitUntil must be a function (promise) => void.');
  }
  return {
    secrets,
    store: idem ? (idem.store ?? new MemoryStore()) : undefined,
    handlers: options,
    respond,
    waitUntil: options.waitUntil,
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY),
    bodyTimeoutMs: positive('bodyTimeoutMs', options.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT),
    maxAgeMs,
    maxClockSkewMs: positive('maxClockSkewMs', options.maxClockSkewMs, DEFAULT_SKEW),
    idempotency: idem ? { ttlMs, leaseMs, timeoutMs } : false,
    retryAfterSeconds: Math.ceil(positive('retryAfterSeconds', options.retryAfterSeconds, 5)),
  };
}
