import type { DeadLetterSink } from './dead-letters.js';
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
