import { type AnswerCode, answerTable, type ReceiverResponse } from './answers.js';
import { toBytes } from './bytes.js';
import { DeliveryContext } from './context.js';
import { DEAD_LETTER_HEADERS } from './dead-letters.js';
import { describeError, isWebhookError, WebhookError, WebhookPayloadError } from './errors.js';
import { type HeadersInput, headerOf } from './headers.js';
import { bounded, Leases } from './lease.js';
import { createLog, type Log, type LogFields, type Logger, type LogLevel } from './log.js';
import type { Metadata, Payload } from './model.js';
import {
  type DeliveryOutcome,
  type DeliveryProbe,
  type ErrorPhase,
  type ReceiverOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { topicOf } from './parse.js';
import { createRouter } from './routing.js';
import { SIGNATURE_HEADER } from './signature.js';
import { type BodyInput, createVerifier } from './verify.js';

/**
 * Reads the body lazily, so the receiver can refuse on method and `Content-Length` first. It
 * must stop past `maxBytes` with a `payload_too_large` {@link WebhookError}, give up after
 * `receiver.options.bodyTimeoutMs` with a `body_timeout` one, and throw `body_consumed` (with a
 * message saying how to mount the middleware) when another body parser already took the stream.
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
  waitUntil?: ((promise: Promise<unknown>) => void) | undefined;
  /**
   * The framework's per-request logger (Fastify's `request.log`, pino-http's `req.log`): used
   * instead of `console` when the options set no `logger`, so lines carry the request id.
   */
  logger?: Logger | undefined;
}

/** The brand that tells a receiver from an options object. */
export const RECEIVER = Symbol.for('ittybit-webhooks.receiver');

/** The receiving pipeline: one per endpoint, shared by every adapter. */
export interface Receiver<M = Metadata, R = unknown> {
  readonly [RECEIVER]: true;
  /** Runs the whole pipeline on one request; never throws. */
  handle(request: ReceiverRequest<R>): Promise<ReceiverResponse>;
  /**
   * Checks the signature over the exact body bytes and reads the payload, without the store or
   * handlers. Throws {@link WebhookVerificationError} or {@link WebhookPayloadError}.
   */
  verify(
    body: BodyInput,
    signatureOrHeaders: HeadersInput | string | null | undefined,
  ): Promise<Payload<M>>;
  /** Resolves when every running handler (foreground and background) has settled. */
  drain(): Promise<void>;
  /** The options in force, defaults applied. */
  readonly options: Readonly<ResolvedOptions>;
}

/** Where the pipeline got to: what the log line and `onDelivery` are told. */
interface Trace {
  code: AnswerCode;
  /** The receiver's log, or the request's own logger's (Fastify's `request.log`, pino-http's `req.log`). */
  log: Log;
  probe?: DeliveryProbe;
  headers?: HeadersInput;
  bytes?: Uint8Array;
  payload?: Payload<unknown>;
  topic?: string;
  key?: string;
  durationMs?: number;
  error?: unknown;
  message?: string;
}

// Log level of each answer; `undefined`: not logged. Busy duplicates and stray GETs are routine.
const LEVELS: Record<AnswerCode, LogLevel | undefined> = {
  received: undefined,
  unhandled: 'debug',
  unknown: 'warn',
  duplicate: 'info',
  method_not_allowed: 'info',
  in_progress: 'info',
  payload_too_large: 'warn',
  body_timeout: 'warn',
  missing_signature: 'warn',
  invalid_signature: 'warn',
  stale_delivery: 'warn',
  invalid_payload: 'warn',
  store_unavailable: 'error',
  handler_failed: 'error',
  body_consumed: 'error',
  internal_error: 'error',
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

// Runtimes whose instances come and go: an in-memory dedup record dies with its instance.
function serverlessPlatform(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  if (env?.AWS_LAMBDA_FUNCTION_NAME) return 'AWS Lambda';
  if (env?.VERCEL) return 'Vercel';
  if (env?.NETLIFY) return 'Netlify';
  if (env?.FUNCTION_TARGET || env?.K_SERVICE) return 'Google Cloud Functions / Cloud Run';
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  if (agent === 'Cloudflare-Workers') return 'Cloudflare Workers';
  return undefined;
}

let warnedServerless = false;

function defaultKey(payload: Payload<unknown>): string | undefined {
  if (payload.event?.id) return payload.event.id;
  if (payload.object === 'unknown') return undefined;
  return `${payload.id}:${payload.status}`;
}

/**
 * Creates the receiving pipeline for one endpoint: method and size checks, signature over the raw
 * bytes, payload reading, freshness, routing by topic, idempotency claim, your handler, and the
 * answer to send. Throws at once when the secret or the handlers are wrong.
 */
export function createReceiver<M = Metadata, R = unknown>(
  options: ReceiverOptions<M, R>,
): Receiver<M, R> {
  const settings = resolveOptions(options);
  const { store, maxBodyBytes, respond } = settings;
  const answers = answerTable(settings.retryAfterSeconds);
  const log = createLog(options.logger === false ? undefined : (options.logger ?? console));
  // A request's own logger (with its request id) is used when the options name none.
  const requestLogs = options.logger === undefined ? new WeakMap<Logger, Log>() : undefined;
  const logOf = (logger: Logger | undefined): Log => {
    if (!requestLogs || !logger) return log;
    let requestLog = requestLogs.get(logger);
    if (!requestLog) {
      requestLog = createLog(logger);
      requestLogs.set(logger, requestLog);
    }
    return requestLog;
  };
  const verifier = createVerifier<M>(settings.secrets, {
    maxAgeMs: settings.maxAgeMs,
    maxClockSkewMs: settings.maxClockSkewMs,
    parseMetadata: options.parseMetadata,
  });
  const route = createRouter<M, R>(options);
  const { onDelivery, onError, deadLetters, telemetry } = options;
  const sinkTimeoutMs = settings.idempotency ? settings.idempotency.timeoutMs : 2_000;
  const platform =
    store && !(options.idempotency || undefined)?.store ? serverlessPlatform() : undefined;
  if (platform && !warnedServerless) {
    warnedServerless = true;
    log(
      'warn',
      `Running on ${platform} with the default in-memory idempotency store: deduplication only holds within one instance, and instances come and go. Use a shared store (@ittybit-webhooks/redis or @ittybit-webhooks/postgres) through idempotency: { store }.`,
    );
  }
  const keyOf = options.idempotency ? options.idempotency.key : undefined;

  const report = (error: unknown, phase: ErrorPhase, key?: string, payload?: Payload<M>) => {
    if (!onError) return;
    try {
      onError(error, { phase, key, payload });
    } catch (hookError) {
      log('error', `onError threw: ${describeError(hookError)}`);
    }
  };
  const lease = settings.idempotency;
  const leases =
    store && lease ? new Leases(store, lease, log, (e, p, k) => report(e, p, k)) : undefined;
  const leaseMs = lease ? lease.leaseMs : 0;

  // drain(): a counter and the waiters, not a Set of promises per delivery.
  let running = 0;
  let idle: (() => void)[] = [];
  const settled = () => {
    running -= 1;
    if (running === 0 && idle.length > 0) {
      const waiters = idle;
      idle = [];
      for (const wake of waiters) wake();
    }
  };

  /** Runs the handler, then completes or releases the claim; resolves the answer code, never rejects. */
  async function run(
    handler: (payload: Payload<M>, ctx: DeliveryContext<R>) => unknown,
    payload: Payload<M>,
    ctx: DeliveryContext<R>,
    owner: string | undefined,
    trace: Trace,
  ): Promise<AnswerCode> {
    running += 1;
    const started = Date.now();
    const key = ctx.key;
    const held =
      leases && owner
        ? leases.hold(key, owner, ctx as DeliveryContext<unknown>, started)
        : undefined;
    try {
      const probe = trace.probe;
      const result = probe
        ? probe.handler(() => handler(payload, ctx), { topic: trace.topic, key })
        : handler(payload, ctx);
      if (isThenable(result)) {
        if (held) leases?.watch(held);
        await result;
      }
    } catch (error) {
      if (held) leases?.drop(held);
      trace.error = error;
      trace.log(
        'error',
        `Handler for ${key || payload.object} (${trace.topic}) threw; ${owner ? 'the key is released so ' : ''}the sender's retry runs it again. ${describeError(error)}`,
        fieldsOf(trace),
      );
      report(error, 'handler', key, payload);
      if (leases && owner) await leases.release(key, owner);
      if (deadLetters) await keepDeadLetter(trace, payload, error);
      settled();
      return 'handler_failed';
    }
    trace.durationMs = Date.now() - started;
    if (held && ctx.lost) {
      leases?.drop(held);
      // Another attempt may own the delivery now: answer 500 so the sender retries; the retry is
      // a duplicate if the other attempt finished, else it runs.
      trace.message = `Handler for ${key} returned after its lease was lost; answering 500 so the sender retries.`;
      settled();
      return 'handler_failed';
    }
    if (held) await leases?.complete(held);
    if (deadLetters) await clearDeadLetter(trace, payload, ctx.key);
    settled();
    return 'received';
  }

  function letterKey(payload: Payload<M>, key: string): string | undefined {
    return key || defaultKey(payload as Payload<unknown>);
  }

  /** Keeps the exact bytes and signature of a delivery whose handler failed. */
  async function keepDeadLetter(trace: Trace, payload: Payload<M>, error: unknown): Promise<void> {
    const key = letterKey(payload, trace.key ?? '');
    if (!deadLetters || !key || !trace.bytes) return;
    const headers: Record<string, string> = {};
    for (const name of DEAD_LETTER_HEADERS) {
      const value = headerOf(trace.headers, name);
      if (value !== undefined) headers[name] = value;
    }
    try {
      await bounded(
        () =>
          deadLetters.put({
            key,
            body: trace.bytes as Uint8Array,
            headers,
            topic: trace.topic,
            eventId: payload.event?.id,
            id: payload.object === 'unknown' ? payload.id : payload.id,
            error: describeError(error),
            failedAt: Date.now(),
          }),
        sinkTimeoutMs,
        'The dead-letter sink did not answer put',
      );
    } catch (sinkError) {
      trace.log(
        'error',
        `Could not keep the failed delivery ${key} as a dead letter: ${describeError(sinkError)}. The sender's retries still run it.`,
        { key },
      );
    }
  }

  /** Forgets the dead letter of a delivery that has now succeeded. */
  async function clearDeadLetter(trace: Trace, payload: Payload<M>, key: string): Promise<void> {
    const letter = letterKey(payload, key);
    if (!deadLetters || !letter) return;
    try {
      await bounded(
        () => deadLetters.clear(letter),
        sinkTimeoutMs,
        'The dead-letter sink did not answer clear',
      );
    } catch (sinkError) {
      trace.log(
        'warn',
        `Could not clear the dead letter of ${letter}: ${describeError(sinkError)}.`,
        {
          key: letter,
        },
      );
    }
  }

  function fieldsOf(trace: Trace): LogFields {
    const payload = trace.payload;
    const fields: LogFields = { code: trace.code };
    if (trace.topic) fields.topic = trace.topic;
    if (payload?.event?.id) fields.eventId = payload.event.id;
    if (payload && payload.object !== 'unknown') fields.id = payload.id;
    if (trace.key) fields.key = trace.key;
    return fields;
  }

  async function pipeline(request: ReceiverRequest<R>, trace: Trace): Promise<AnswerCode> {
    const method = request.method;
    if (method !== 'POST' && (typeof method !== 'string' || method.toUpperCase() !== 'POST')) {
      trace.message = `Method ${String(method)} is not allowed; Ittybit delivers with POST.`;
      return 'method_not_allowed';
    }
    const headers = request.headers;
    const declared = headerOf(headers, 'content-length');
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      trace.message = `Content-Length ${declared} is over maxBodyBytes (${maxBodyBytes}).`;
      return 'payload_too_large';
    }

    let body: BodyInput;
    const input = request.body;
    if (typeof input === 'function') {
      try {
        body = await input(maxBodyBytes);
      } catch (error) {
        if (isWebhookError(error)) throw error;
        const status =
          (error as { status?: unknown; statusCode?: unknown })?.status ??
          (error as { statusCode?: unknown })?.statusCode;
        if (status === 413)
          throw new WebhookError(
            'payload_too_large',
            `Body is over maxBodyBytes (${maxBodyBytes}).`,
          );
        throw new WebhookPayloadError(`Could not read the request body: ${describeError(error)}`);
      }
    } else {
      body = input ?? '';
    }
    const bytes = toBytes(body);
    if (bytes.length > maxBodyBytes) {
      trace.message = `Body of ${bytes.length} bytes is over maxBodyBytes (${maxBodyBytes}).`;
      return 'payload_too_large';
    }

    const payload = await verifier(bytes, headerOf(headers, SIGNATURE_HEADER));
    trace.payload = payload;
    if (deadLetters) {
      trace.bytes = bytes;
      trace.headers = headers;
    }
    const topic = topicOf(payload);
    trace.topic = topic;
    const handler = route(payload);
    if (!handler) {
      if (payload.object === 'unknown') {
        trace.message = `Acknowledged a signed payload this version cannot read (event ${payload.event?.id ?? payload.id ?? 'without id'}, topic ${payload.topic ?? 'none'}); pass onUnknown to handle it, or upgrade @ittybit-webhooks.`;
        return 'unknown';
      }
      trace.message = `Acknowledged ${payload.id} (${topic}): no handler for this topic.`;
      return 'unhandled';
    }
    if (payload.object !== 'unknown' && payload.status === 'unknown') {
      trace.log(
        'warn',
        `${payload.id} has a status this library does not know (${payload.rawStatus}); routed by its topic ${topic}.`,
        fieldsOf(trace),
      );
    }

    let key = '';
    if (leases) {
      key = (keyOf ? keyOf(payload, { topic, event: payload.event }) : defaultKey(payload)) ?? '';
    }
    trace.key = key || undefined;
    const ctx = new DeliveryContext<R>(headers, request.request, key, topic, payload.event);

    let owner: string | undefined;
    if (leases && key) {
      const claimant = leases.owner();
      owner = claimant;
      const acquiring = leases.store.acquire(key, claimant, leaseMs);
      let claim: Awaited<typeof acquiring>;
      try {
        claim = await leases.call('acquire', () => acquiring);
      } catch (error) {
        // A claim that lands after we gave up would block every retry until its lease lapses:
        // give it back as soon as it arrives.
        acquiring
          .then((late) => (late === 'acquired' ? leases.store.release(key, claimant) : false))
          .catch(() => {});
        throw isWebhookError(error) && error.code === 'store_unavailable'
          ? error
          : new WebhookError(
              'store_unavailable',
              `Idempotency store failed on acquire: ${describeError(error)}`,
              {
                cause: error,
              },
            );
      }
      if (claim === 'completed') {
        trace.message = `Duplicate delivery of ${key}: already handled, handler not called.`;
        return 'duplicate';
      }
      if (claim === 'in_progress') {
        trace.message = `Delivery of ${key} is already being handled; answered 503 so the sender retries later.`;
        return 'in_progress';
      }
    }

    const work = run(
      handler as (p: Payload<M>, c: DeliveryContext<R>) => unknown,
      payload,
      ctx,
      owner,
      trace,
    );
    if (respond === 'immediately') {
      const keepAlive = request.waitUntil ?? settings.waitUntil;
      try {
        keepAlive?.(work);
      } catch (error) {
        trace.log(
          'warn',
          `waitUntil threw (${describeError(error)}); the handler still runs in this process.`,
        );
      }
      return 'received';
    }
    return work;
  }

  function finish(trace: Trace): ReceiverResponse {
    const code = trace.code;
    const answer = answers[code];
    const level = LEVELS[code];
    if (level && trace.message) {
      trace.log(
        level,
        code === 'received' ? trace.message : `${answer.status} ${code}: ${trace.message}`,
        {
          status: answer.status,
          ...fieldsOf(trace),
        },
      );
    }
    if (onDelivery || trace.probe) {
      const payload = trace.payload;
      const outcome: DeliveryOutcome = {
        status: answer.status,
        code,
        duplicate: code === 'duplicate',
      };
      if (trace.topic) outcome.topic = trace.topic;
      if (payload?.event?.id) outcome.eventId = payload.event.id;
      if (payload && payload.object !== 'unknown') outcome.id = payload.id;
      else if (payload?.id) outcome.id = payload.id;
      if (trace.key) outcome.key = trace.key;
      if (trace.durationMs !== undefined) outcome.durationMs = trace.durationMs;
      if (trace.error !== undefined) outcome.error = trace.error;
      try {
        onDelivery?.(outcome);
      } catch (error) {
        trace.log('error', `onDelivery threw: ${describeError(error)}`);
      }
      try {
        trace.probe?.end(outcome);
      } catch (error) {
        trace.log('error', `telemetry end threw: ${describeError(error)}`);
      }
    }
    return answer;
  }

  async function handle(request: ReceiverRequest<R>): Promise<ReceiverResponse> {
    const trace: Trace = { code: 'received', log: logOf(request.logger) };
    if (telemetry) {
      try {
        trace.probe = telemetry.start({ method: request.method });
      } catch (error) {
        trace.log('error', `telemetry start threw: ${describeError(error)}`);
      }
    }
    try {
      trace.code = await pipeline(request, trace);
    } catch (error) {
      if (isWebhookError(error) && error.code !== 'invalid_options') {
        trace.code = error.code;
        trace.message = error.message;
        trace.error = error;
      } else {
        trace.code = 'internal_error';
        trace.message = `Unexpected error: ${describeError(error)}`;
        trace.error = error;
        report(error, 'internal');
      }
    }
    return finish(trace);
  }

  async function verify(
    body: BodyInput,
    signatureOrHeaders: HeadersInput | string | null | undefined,
  ): Promise<Payload<M>> {
    const signature =
      typeof signatureOrHeaders === 'string' || signatureOrHeaders == null
        ? signatureOrHeaders
        : headerOf(signatureOrHeaders, SIGNATURE_HEADER);
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new WebhookPayloadError(
        'The body must be the raw bytes (Uint8Array/Buffer) or a string.',
      );
    }
    return verifier(body, signature);
  }

  function drain(): Promise<void> {
    if (running === 0) return Promise.resolve();
    return new Promise((resolve) => idle.push(resolve));
  }

  const { secrets: _secrets, store: _store, handlers: _handlers, ...resolved } = settings;
  return {
    [RECEIVER]: true,
    handle,
    verify,
    drain,
    options: Object.freeze(resolved),
  };
}
