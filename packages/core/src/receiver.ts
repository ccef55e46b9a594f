import { WebhookError, WebhookPayloadError, WebhookVerificationError } from './errors.js';
import { type HeadersInput, normalizeHeaders } from './headers.js';
import { MemoryStore } from './memory-store.js';
import { parseTask } from './parse.js';
import { checkSignature, SIGNATURE_HEADER } from './signature.js';
import type { IdempotencyStore } from './store.js';
import type {
  CancelledTask,
  FailedTask,
  Metadata,
  SucceededTask,
  Task,
  TaskUpdate,
} from './task.js';

/** A body as bytes (a Node `Buffer` is one) or as a string taken as UTF-8. */
export type BodyInput = Uint8Array | string;

/**
 * Reads the body lazily, so the receiver can refuse on method and `Content-Length` first.
 * It must stop reading and throw a `payload_too_large` {@link WebhookError} past `maxBytes`, and a
 * `body_consumed` one (with a message saying how to mount the middleware) when another body
 * parser already took the stream.
 */
export type BodyReader = (maxBytes: number) => Promise<BodyInput>;

/** What an adapter hands to {@link Receiver.handle}. */
export interface ReceiverRequest<R = unknown> {
  method: string;
  headers: HeadersInput;
  body: BodyInput | BodyReader | null | undefined;
  /** The framework's own request object, passed on to handlers as `ctx.request`. */
  request?: R;
  /** Keeps the runtime alive for background work (`respond: 'immediately'`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** What an adapter writes back. Header names are lowercase. */
export interface ReceiverResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The second argument of every handler. */
export interface HandlerContext<R = unknown> {
  /** Request headers, lowercase names. */
  headers: Record<string, string>;
  /** Aborted when this attempt lost its idempotency lease (another worker may take over). */
  signal: AbortSignal;
  /** The framework's request object (Express `req`, Fastify request, Koa `ctx`, Web `Request`). */
  request: R | undefined;
  /** The idempotency key of this delivery (`task.id:status` by default). */
  key: string;
}

type Handler<T, R> = (task: T, ctx: HandlerContext<R>) => unknown;

/** Console-compatible logger (`console`, pino, winston...). Each call gets one string. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info?(message: string): void;
  debug?(message: string): void;
}

/** Where an error reported to `onError` came from. */
export type ErrorPhase = 'handler' | 'complete' | 'release' | 'extend' | 'internal';

/** Idempotency settings; `false` turns deduplication off. */
export interface IdempotencyOptions<M = Metadata> {
  /** Where keys live (default: a new {@link MemoryStore}). */
  store?: IdempotencyStore;
  /** How long a completed key is kept; must cover the sender's retry window (default 72 h). */
  ttlMs?: number;
  /** How long a claim lasts without a heartbeat; renewed every `leaseMs / 3` (default 60 s). */
  leaseMs?: number;
  /** The key of a delivery (default `task.id + ':' + task.status`). */
  key?: (task: Task<M>) => string;
  /** Longest wait for one store call before answering 503 (default 2 s). */
  timeoutMs?: number;
}

/** Options of {@link createReceiver}. */
export interface ReceiverOptions<M = Metadata, R = unknown> {
  /** The webhook secret; several during rotation (any may match). */
  secret: string | readonly string[] | undefined;
  /** Called once per succeeded task. */
  onSucceeded: Handler<SucceededTask<M>, R>;
  /** Called once per failed task (and cancelled ones, unless `onCancelled` is given). */
  onFailed: Handler<FailedTask<M> | CancelledTask<M>, R>;
  /** Called once per cancelled task (default: `onFailed`). */
  onCancelled?: Handler<CancelledTask<M>, R>;
  /** Called for non-terminal statuses; without it they are acknowledged and ignored. */
  onUpdate?: Handler<TaskUpdate<M>, R>;
  /** Deduplication of deliveries (default: on, in memory). */
  idempotency?: IdempotencyOptions<M> | false;
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
  /** Refuse deliveries whose signed time is older than this (default: off). */
  maxAgeMs?: number;
  /** Validates and types `metadata` (a zod schema's `parse` fits); a throw is a 400. */
  parseMetadata?: (metadata: unknown) => M;
  /** Told about handler errors and store failures that did not change the answer. */
  onError?: (error: unknown, info: { phase: ErrorPhase; task?: Task<M>; key?: string }) => void;
  /** Where to log (default `console`); `false` for silence. */
  logger?: Logger | false;
  /** Seconds in the `Retry-After` header of 503 answers (default 5). */
  retryAfterSeconds?: number;
}

/** The receiving pipeline: one per endpoint, shared by every adapter. */
export interface Receiver<M = Metadata, R = unknown> {
  /** Runs the whole pipeline on one request; never throws. */
  handle(request: ReceiverRequest<R>): Promise<ReceiverResponse>;
  /**
   * Checks the signature over the exact body bytes and parses the task, without the store or
   * handlers. Throws {@link WebhookVerificationError} or {@link WebhookPayloadError}.
   */
  verify(body: BodyInput, signature: string | null | undefined): Promise<Task<M>>;
  /** Resolves when every running handler (foreground and background) has settled. */
  drain(): Promise<void>;
  /** The options in force, defaults applied. */
  readonly options: Readonly<ResolvedOptions>;
}

interface ResolvedOptions {
  respond: 'after-handler' | 'immediately';
  /** The `waitUntil` option, if one was given (adapters prefer it over their runtime's own). */
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  maxBodyBytes: number;
  maxAgeMs: number | undefined;
  idempotency: false | { ttlMs: number; leaseMs: number; timeoutMs: number };
  retryAfterSeconds: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_TTL = 72 * 60 * 60 * 1000;
const DEFAULT_LEASE = 60_000;
const DEFAULT_STORE_TIMEOUT = 2_000;
const PREFIX = '[ittybit-webhooks]';
const DUPLICATE_HEADER = 'ittybit-webhook-duplicate';

function json(
  status: number,
  body: object,
  headers: Record<string, string> = {},
): ReceiverResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

const OK = () => json(200, { received: true });

function refusal(error: WebhookError, retryAfterSeconds: number): ReceiverResponse {
  switch (error.code) {
    case 'method_not_allowed':
      return json(405, { error: error.code }, { allow: 'POST' });
    case 'payload_too_large':
      return json(413, { error: error.code });
    // One body for every signature failure: the sender is not told which check failed.
    case 'missing_signature':
    case 'invalid_signature':
    case 'stale_delivery':
      return json(401, { error: 'unauthorized' });
    case 'invalid_payload':
      return json(400, { error: error.code });
    case 'in_progress':
    case 'store_unavailable':
      return json(503, { error: error.code }, { 'retry-after': String(retryAfterSeconds) });
    default:
      return json(500, { error: error.code === 'body_consumed' ? error.code : 'internal_error' });
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new WebhookError(
      'invalid_options',
      `${name} must be a positive number of milliseconds/bytes; got ${String(value)}.`,
    );
  }
  return value;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new WebhookError(
            'store_unavailable',
            `Idempotency store did not answer ${what} within ${ms} ms.`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function randomOwner(): string {
  return crypto.randomUUID();
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function toText(body: BodyInput): string {
  if (typeof body === 'string') return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  try {
    // The decoder drops a leading BOM; JSON.parse would refuse it.
    return decoder.decode(body);
  } catch {
    throw new WebhookPayloadError('Body is not valid UTF-8.');
  }
}

/**
 * Creates the receiving pipeline for one endpoint: method and size checks, signature over the raw
 * bytes, payload parsing, freshness, idempotency claim, your handler, and the answer to send.
 * Throws at once when the secret or a required handler is missing.
 */
export function createReceiver<M = Metadata, R = unknown>(
  options: ReceiverOptions<M, R>,
): Receiver<M, R> {
  const secrets = (
    typeof options?.secret === 'string' ? [options.secret] : [...(options?.secret ?? [])]
  ).filter((s) => typeof s === 'string' && s.length > 0);
  if (secrets.length === 0) {
    throw new WebhookError(
      'invalid_options',
      'createReceiver: `secret` is missing or empty. Set it to your Ittybit webhook secret, e.g. secret: process.env.ITTYBIT_WEBHOOK_SECRET (and check that variable is set).',
    );
  }
  for (const name of ['onSucceeded', 'onFailed'] as const) {
    if (typeof options[name] !== 'function') {
      throw new WebhookError(
        'invalid_options',
        `createReceiver: \`${name}\` is required: pass a function (task, ctx) => {...} that handles ${name === 'onSucceeded' ? 'succeeded' : 'failed'} tasks.`,
      );
    }
  }

  const logger: Logger | undefined =
    options.logger === false ? undefined : (options.logger ?? console);
  const respond = options.respond ?? 'after-handler';
  if (respond !== 'after-handler' && respond !== 'immediately') {
    throw new WebhookError(
      'invalid_options',
      `respond must be 'after-handler' or 'immediately'; got ${String(respond)}.`,
    );
  }
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY);
  const maxAgeMs =
    options.maxAgeMs === undefined ? undefined : positive('maxAgeMs', options.maxAgeMs, 0);
  const retryAfterSeconds = Math.ceil(positive('retryAfterSeconds', options.retryAfterSeconds, 5));
  const idem = options.idempotency === false ? undefined : (options.idempotency ?? {});
  const store = idem ? (idem.store ?? new MemoryStore()) : undefined;
  const ttlMs = positive('idempotency.ttlMs', idem?.ttlMs, DEFAULT_TTL);
  const leaseMs = positive('idempotency.leaseMs', idem?.leaseMs, DEFAULT_LEASE);
  const timeoutMs = positive('idempotency.timeoutMs', idem?.timeoutMs, DEFAULT_STORE_TIMEOUT);
  const keyOf = idem?.key ?? ((task: Task<M>) => `${task.id}:${task.status}`);

  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.then(
      () => inFlight.delete(promise),
      () => inFlight.delete(promise),
    );
    return promise;
  };

  const log = (level: 'error' | 'warn' | 'info' | 'debug', message: string) => {
    try {
      logger?.[level]?.(`${PREFIX} ${message}`);
    } catch {
      // A broken logger must not change the answer.
    }
  };

  const report = (error: unknown, info: { phase: ErrorPhase; task?: Task<M>; key?: string }) => {
    try {
      options.onError?.(error, info);
    } catch (hookError) {
      log('error', `onError threw: ${describe(hookError)}`);
    }
  };

  async function verify(body: BodyInput, signature: string | null | undefined): Promise<Task<M>> {
    const check = await checkSignature(body, signature, secrets);
    if (check === 'missing') {
      throw new WebhookVerificationError(
        'missing_signature',
        `No ${SIGNATURE_HEADER} header. Deliveries from Ittybit always carry one; check that nothing between Ittybit and this server strips it.`,
      );
    }
    if (check === 'malformed') {
      throw new WebhookVerificationError(
        'invalid_signature',
        `The ${SIGNATURE_HEADER} header is not 64 hex characters (got ${signature?.trim().length ?? 0} characters).`,
      );
    }
    if (check === 'mismatch') {
      throw new WebhookVerificationError(
        'invalid_signature',
        `Signature matches none of the ${secrets.length} configured secret(s). Check that the secret is the webhook secret from Ittybit, and that the body reaches this middleware unmodified (no JSON body parser before it, no proxy re-encoding it).`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(toText(body));
    } catch (error) {
      if (error instanceof WebhookPayloadError) throw error;
      throw new WebhookPayloadError('Body is signed but is not valid JSON.');
    }
    const task = parseTask<M>(parsed);
    if (options.parseMetadata) {
      try {
        task.metadata = options.parseMetadata(task.metadata);
      } catch (error) {
        throw new WebhookPayloadError(
          `parseMetadata rejected the metadata: ${describe(error)}`,
          'metadata',
        );
      }
    }
    if (maxAgeMs !== undefined) {
      if (task.occurredAtMs === undefined) {
        throw new WebhookPayloadError(
          'maxAgeMs is set but the payload has no timestamp (completed_at, finished_at or created_at).',
          'completed_at',
        );
      }
      const age = Date.now() - task.occurredAtMs;
      if (age > maxAgeMs) {
        throw new WebhookVerificationError(
          'stale_delivery',
          `Delivery of ${task.id} is ${Math.round(age / 1000)} s old, over maxAgeMs (${maxAgeMs} ms). Raise maxAgeMs if the sender's retries can take longer.`,
        );
      }
    }
    return task;
  }

  function handlerFor(
    task: Task<M>,
  ): ((task: Task<M>, ctx: HandlerContext<R>) => unknown) | undefined {
    switch (task.status) {
      case 'succeeded':
        return options.onSucceeded as Handler<Task<M>, R>;
      case 'failed':
        return options.onFailed as Handler<Task<M>, R>;
      case 'cancelled':
        return (options.onCancelled ?? options.onFailed) as Handler<Task<M>, R>;
      default:
        return options.onUpdate as Handler<Task<M>, R> | undefined;
    }
  }

  /** Runs the handler under a lease heartbeat; resolves `true` on success, never rejects. */
  async function run(
    handler: (task: Task<M>, ctx: HandlerContext<R>) => unknown,
    task: Task<M>,
    key: string,
    owner: string | undefined,
    headers: Record<string, string>,
    request: R | undefined,
  ): Promise<boolean> {
    const abort = new AbortController();
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    if (store && owner) {
      let lastRenewal = Date.now();
      heartbeat = setInterval(
        async () => {
          try {
            const held = await withTimeout(store.extend(key, owner, leaseMs), timeoutMs, 'extend');
            if (held) {
              lastRenewal = Date.now();
              return;
            }
            log(
              'error',
              `Lost the lease on ${key}: another attempt may run it. Handlers should stop when ctx.signal aborts.`,
            );
            abort.abort(new WebhookError('in_progress', `Lease on ${key} was lost.`));
          } catch (error) {
            report(error, { phase: 'extend', task, key });
            if (Date.now() - lastRenewal >= leaseMs) {
              log(
                'error',
                `Could not renew the lease on ${key} for ${leaseMs} ms (${describe(error)}); aborting the handler.`,
              );
              abort.abort(
                new WebhookError('store_unavailable', `Lease on ${key} could not be renewed.`),
              );
            }
          }
        },
        Math.max(1, Math.floor(leaseMs / 3)),
      );
      (heartbeat as { unref?: () => void }).unref?.();
    }

    try {
      await handler(task, { headers, signal: abort.signal, request, key });
    } catch (error) {
      clearInterval(heartbeat);
      log(
        'error',
        `Handler for ${task.id} (${task.status}) threw; the key is released so the sender's retry runs it again. ${describe(error)}`,
      );
      report(error, { phase: 'handler', task, key });
      if (store && owner) {
        try {
          await withTimeout(store.release(key, owner), timeoutMs, 'release');
        } catch (releaseError) {
          log(
            'error',
            `Could not release ${key} (${describe(releaseError)}); a retry waits until the lease lapses.`,
          );
          report(releaseError, { phase: 'release', task, key });
        }
      }
      return false;
    }
    clearInterval(heartbeat);
    if (abort.signal.aborted) {
      // The lease was lost mid-run: another attempt may own the task now. Answer 500 so the
      // sender retries; the retry is a duplicate if the other attempt finished, else it runs.
      log(
        'error',
        `Handler for ${key} returned after its lease was lost; answering 500 so the sender retries.`,
      );
      return false;
    }
    if (store && owner) {
      try {
        const done = await withTimeout(store.complete(key, owner, ttlMs), timeoutMs, 'complete');
        if (!done)
          log(
            'warn',
            `Handled ${key}, but its lease had lapsed before it was marked completed; a concurrent retry may also have run it.`,
          );
      } catch (error) {
        // The work is done: answer 200 regardless; a retry may run the handler again.
        log(
          'error',
          `Handled ${key} but could not mark it completed (${describe(error)}); a retry may run it again.`,
        );
        report(error, { phase: 'complete', task, key });
      }
    }
    return true;
  }

  async function pipeline(request: ReceiverRequest<R>): Promise<ReceiverResponse> {
    if ((request.method ?? '').toUpperCase() !== 'POST') {
      throw new WebhookError(
        'method_not_allowed',
        `Method ${request.method} is not allowed; Ittybit delivers with POST.`,
      );
    }
    const headers = normalizeHeaders(request.headers);
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      throw new WebhookError(
        'payload_too_large',
        `Content-Length ${declared} is over maxBodyBytes (${maxBodyBytes}).`,
      );
    }

    let body: BodyInput;
    if (typeof request.body === 'function') {
      try {
        body = await request.body(maxBodyBytes);
      } catch (error) {
        if (error instanceof WebhookError) throw error;
        const status =
          (error as { status?: unknown; statusCode?: unknown }).status ??
          (error as { statusCode?: unknown }).statusCode;
        if (status === 413) {
          throw new WebhookError(
            'payload_too_large',
            `Body is over maxBodyBytes (${maxBodyBytes}).`,
          );
        }
        throw new WebhookPayloadError(`Could not read the request body: ${describe(error)}`);
      }
    } else {
      body = request.body ?? '';
    }
    const size = typeof body === 'string' ? new TextEncoder().encode(body).length : body.length;
    if (size > maxBodyBytes) {
      throw new WebhookError(
        'payload_too_large',
        `Body of ${size} bytes is over maxBodyBytes (${maxBodyBytes}).`,
      );
    }

    const task = await verify(body, headers[SIGNATURE_HEADER]);
    if (task.status === 'unknown') {
      log(
        'warn',
        `Task ${task.id} has a status this library does not know (${task.rawStatus}); treated as an update.`,
      );
    }
    const handler = handlerFor(task);
    if (!handler) {
      log('debug', `Acknowledged ${task.id} (${task.rawStatus}); no onUpdate handler.`);
      return OK();
    }

    const key = keyOf(task);
    let owner: string | undefined;
    if (store) {
      const claimant = randomOwner();
      owner = claimant;
      let claim: Awaited<ReturnType<IdempotencyStore['acquire']>>;
      const acquiring = store.acquire(key, claimant, leaseMs);
      try {
        claim = await withTimeout(acquiring, timeoutMs, 'acquire');
      } catch (error) {
        // A claim that lands after we gave up would block every retry until its lease lapses:
        // give it back as soon as it arrives.
        acquiring
          .then((late) => (late === 'acquired' ? store.release(key, claimant) : false))
          .catch(() => {});
        throw error instanceof WebhookError && error.code === 'store_unavailable'
          ? error
          : new WebhookError(
              'store_unavailable',
              `Idempotency store failed on acquire: ${describe(error)}`,
              { cause: error },
            );
      }
      if (claim === 'completed') {
        log('info', `Duplicate delivery of ${key}: already handled, handler not called.`);
        return json(200, { received: true, duplicate: true }, { [DUPLICATE_HEADER]: 'true' });
      }
      if (claim === 'in_progress') {
        throw new WebhookError(
          'in_progress',
          `Delivery of ${key} is already being handled; answered 503 so the sender retries later.`,
        );
      }
    }

    const work = track(run(handler, task, key, owner, headers, request.request));
    if (respond === 'immediately') {
      const keepAlive = request.waitUntil ?? options.waitUntil;
      try {
        keepAlive?.(work);
      } catch (error) {
        log(
          'warn',
          `waitUntil threw (${describe(error)}); the handler still runs in this process.`,
        );
      }
      return OK();
    }
    return (await work) ? OK() : json(500, { error: 'handler_failed' });
  }

  async function handle(request: ReceiverRequest<R>): Promise<ReceiverResponse> {
    try {
      return await pipeline(request);
    } catch (error) {
      if (error instanceof WebhookError) {
        const answer = refusal(error, retryAfterSeconds);
        // A duplicate arriving while the first copy runs is routine; so is a stray GET.
        const routine = error.code === 'in_progress' || error.code === 'method_not_allowed';
        const level = routine ? 'info' : answer.status >= 500 ? 'error' : 'warn';
        log(level, `${answer.status} ${error.code}: ${error.message}`);
        return answer;
      }
      log('error', `Unexpected error: ${describe(error)}`);
      report(error, { phase: 'internal' });
      return json(500, { error: 'internal_error' });
    }
  }

  async function drain(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return {
    handle,
    verify,
    drain,
    options: {
      respond,
      waitUntil: options.waitUntil,
      maxBodyBytes,
      maxAgeMs,
      idempotency: store ? { ttlMs, leaseMs, timeoutMs } : false,
      retryAfterSeconds,
    },
  };
}

/**
 * Adapters accept options or a ready receiver (to share one between routes or call `drain()`):
 * this returns the receiver either way.
 */
export function toReceiver<M, R>(input: ReceiverOptions<M, R> | Receiver<M, R>): Receiver<M, R> {
  return typeof (input as Receiver<M, R>)?.handle === 'function' &&
    typeof (input as Receiver<M, R>).verify === 'function'
    ? (input as Receiver<M, R>)
    : createReceiver(input as ReceiverOptions<M, R>);
}
