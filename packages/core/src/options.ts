import type { DeadLetterSink } from './dead-letters.js';
import { WebhookError } from './errors.js';
import type { Logger } from './log.js';
import { MemoryStore } from './memory-store.js';
import type {
  CancelledTask,
  FailedTask,
  Metadata,
  Payload,
  SucceededTask,
  Task,
  Topic,
  TopicPayloads,
  UnknownPayload,
  WebhookEvent,
} from './model.js';
import { secretList } from './signature.js';
import type { IdempotencyStore } from './store.js';

/** The second argument of every handler. */
export interface HandlerContext<R = unknown> {
  /** Request headers, lowercase names. */
  readonly headers: Record<string, string>;
  /** Aborted when this attempt lost its idempotency lease (another worker may take over). */
  readonly signal: AbortSignal;
  /** The framework's request object (Express `req`, Fastify request, Koa `ctx`, Web `Request`). */
  readonly request: R | undefined;
  /** The idempotency key of this delivery (the event id, else `id:status`); `''` when off. */
  readonly key: string;
  /** The topic: the envelope's, or derived from the status for the bare task and job shapes. */
  readonly topic: string | undefined;
  /** The event envelope (id, topic, created time) when the delivery was one. */
  readonly event: WebhookEvent | undefined;
}

/** A handler: gets the payload and its context; may return a promise. */
export type Handler<P, R = unknown> = (payload: P, ctx: HandlerContext<R>) => unknown;

/** One handler per topic, each typed by what its topic carries. */
export type TopicHandlers<M = Metadata, R = unknown> = {
  [K in Topic]?: Handler<TopicPayloads<M>[K], R>;
};

/** Where an error reported to `onError` came from. */
export type ErrorPhase = 'handler' | 'complete' | 'release' | 'extend' | 'internal';

/** How one request ended: what `onDelivery` is told, once per request. */
export interface DeliveryOutcome {
  /** The HTTP status answered. */
  status: number;
  /**
   * What happened: `received` (handler done, or started with `respond: 'immediately'`),
   * `duplicate`, `unhandled` (a topic with no handler), `unknown` (an unknown topic or object),
   * or the refusal's error code (`invalid_signature`, `in_progress`, `handler_failed`, ...).
   */
  code: string;
  /** The topic, once the payload was read. */
  topic?: string;
  /** The envelope's event id, when there was one. */
  eventId?: string;
  /** The task or run id, when known. */
  id?: string;
  /** The idempotency key, when one was used. */
  key?: string;
  /** True when the delivery was a duplicate of one already handled. */
  duplicate: boolean;
  /** How long the handler ran, in milliseconds, when it ran to the end in this request. */
  durationMs?: number;
  /** The error behind a refusal or a failed handler. */
  error?: unknown;
}

/**
 * Tracing and metrics around each delivery (the `@ittybit-webhooks/otel` package implements it
 * with OpenTelemetry). Every call is guarded: a throwing probe never changes the answer.
 */
export interface Telemetry {
  /** Called when a request arrives. */
  start(request: { method: string }): DeliveryProbe;
}

/** One delivery's telemetry. */
export interface DeliveryProbe {
  /** Runs the handler (e.g. inside a child span) and returns exactly what `run` returns. */
  handler<T>(run: () => T, info: { topic: string | undefined; key: string }): T;
  /** Called once with how the request ended. */
  end(outcome: DeliveryOutcome): void;
}

/** Idempotency settings; `false` turns deduplication off. */
export interface IdempotencyOptions<M = Metadata> {
  /** Where keys live (default: a new {@link MemoryStore}). */
  store?: IdempotencyStore;
  /** How long a completed key is kept; must cover the sender's retry window (default 72 h). */
  ttlMs?: number;
  /**
   * How long a claim lasts without renewal (default 60 s). Renewed from a quarter of it on while
   * the handler runs; must be at least 4 × `timeoutMs`.
   */
  leaseMs?: number;
  /**
   * The key of a delivery. Default: the event id of an event envelope (every event once), else
   * `id:status` (bare task and job shapes). `undefined` or `''`: this delivery is not deduplicated.
   */
  key?: (
    payload: Payload<M>,
    ctx: { topic: string | undefined; event: WebhookEvent | undefined },
  ) => string | undefined;
  /** Longest wait for one store call before answering 503 (default 2 s). */
  timeoutMs?: number;
}

/** Options of `createReceiver`. */
export interface ReceiverOptions<M = Metadata, R = unknown> {
  /** The webhook secret; several during rotation (any may match). */
  secret: string | readonly string[] | undefined;
  /** Succeeded tasks (`task.succeeded`, or a bare task that succeeded). */
  onSucceeded?: Handler<SucceededTask<M>, R>;
  /** Failed tasks (`task.failed`), and cancelled ones unless `onCancelled` is given. */
  onFailed?: Handler<FailedTask<M> | CancelledTask<M>, R>;
  /** Cancelled tasks (default: `onFailed`). */
  onCancelled?: Handler<CancelledTask<M>, R>;
  /** Tasks still running (`task.created`, `task.updated`, bare progress updates). */
  onUpdate?: Handler<Task<M>, R>;
  /** One handler per topic, typed by topic (`'run.succeeded': (run, ctx) => …`). */
  on?: TopicHandlers<M, R>;
  /** Signed JSON of an unknown topic or `object`; without it: 200 and a warning naming its id. */
  onUnknown?: Handler<UnknownPayload, R>;
  /** Told how every request ended (refusals included); it never changes the answer. */
  onDelivery?: (outcome: DeliveryOutcome) => void;
  /** Deduplication of deliveries (default: on, in memory). */
  idempotency?: IdempotencyOptions<M> | false;
  /** Keeps every authentic delivery whose handler failed, until an attempt succeeds. */
  deadLetters?: DeadLetterSink;
  /** Spans and metrics per delivery (see `@ittybit-webhooks/otel`). */
  telemetry?: Telemetry;
  /**
   * `after-handler` (default, at-least-once): answer when the handler is done; a throw gives 500
   * and the sender retries. `immediately` (at-most-once): answer 200 once verified and claimed,
   * run the handler in the background; failures only reach `onError`.
   */
  respond?: 'after-handler' | 'immediately';
  /** Keeps the runtime alive for background handlers (e.g. a Worker's `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Largest body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** Longest time the body may take to arrive before a 408 (default 3 s). */
  bodyTimeoutMs?: number;
  /** Refuse deliveries whose signed time is older than this (default: off). */
  maxAgeMs?: number;
  /** With `maxAgeMs`: how far in the future a signed time may be (default 5 min). */
  maxClockSkewMs?: number;
  /** Validates and types `metadata` (a zod schema's `parse` fits); a throw is a 400. */
  parseMetadata?: (metadata: unknown) => M;
  /** Told about handler errors and store failures that did not change the answer. */
  onError?: (
    error: unknown,
    info: { phase: ErrorPhase; payload?: Payload<M>; key?: string },
  ) => void;
  /** Where to log (default `console`); `false` for silence. Structured loggers get fields. */
  logger?: Logger | false;
  /** Seconds in the `Retry-After` header of 503 answers (default 5). */
  retryAfterSeconds?: number;
}

/** The options in force, defaults applied (`receiver.options`). */
export interface ResolvedOptions {
  respond: 'after-handler' | 'immediately';
  /** The `waitUntil` option, if one was given (adapters prefer it over their runtime's own). */
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  maxAgeMs: number | undefined;
  maxClockSkewMs: number;
  idempotency: false | { ttlMs: number; leaseMs: number; timeoutMs: number };
  retryAfterSeconds: number;
}

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
