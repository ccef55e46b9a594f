import { type AnswerCode, answerTable, type ReceiverResponse } from './answers.js';
import { type BodyReader, bodyBytes, readBody } from './body.js';
import { type Claim, claim, defaultKey, type KeyOf } from './claim.js';
import { DeliveryContext } from './context.js';
import { describeError, isWebhookError, WebhookPayloadError } from './errors.js';
import { type HeadersInput, headerOf } from './headers.js';
import { Leases } from './lease.js';
import { createLog, type Log, type Logger, lazyLog } from './log.js';
import type { Metadata, Payload } from './model.js';
import type { ErrorPhase, ReceiverOptions, ResolvedOptions } from './options.js';
import { topicOf } from './parse.js';
import { resolveOptions } from './resolve.js';
import { createRouter } from './routing.js';
import { type AnyHandler, Runner } from './runner.js';
import { warnIfServerlessMemory } from './serverless.js';
import { SIGNATURE_HEADER } from './signature.js';
import { fieldsOf, newTrace, settle, type Trace } from './trace.js';
import { type BodyInput, createSyncVerifier } from './verify.js';

export type { BodyReader } from './body.js';

/** A pipeline step's answer code: at once, or once something had to wait. */
type Step = AnswerCode | Promise<AnswerCode>;

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

/**
 * Creates the receiving pipeline for one endpoint: method and size checks, signature over the raw
 * bytes, payload reading, freshness, routing by topic, idempotency claim, your handler, and the
 * answer to send. Throws at once when the secret or the handlers are wrong.
 */
export function createReceiver<M = Metadata, R = unknown>(
  options: ReceiverOptions<M, R>,
): Receiver<M, R> {
  const settings = resolveOptions(options);
  const { store, maxBodyBytes, respond, idempotency } = settings;
  const { onDelivery, onError, deadLetters, telemetry } = options;
  const answers = answerTable(settings.retryAfterSeconds);
  const log = createLog(options.logger === false ? undefined : (options.logger ?? console));
  if (store && !(options.idempotency || undefined)?.store) warnIfServerlessMemory(log);

  // A request's own logger (with its request id) is used when the options name none. Frameworks
  // make one per request (Fastify, pino-http), so it is wrapped only when a line is written: a
  // delivery that is simply received writes none.
  const requestLoggers = options.logger === undefined;
  const logOf = (logger: Logger | undefined): Log =>
    requestLoggers && logger ? lazyLog(logger) : log;
  const report = (error: unknown, phase: ErrorPhase, key?: string, payload?: Payload<M>) => {
    if (!onError) return;
    try {
      onError(error, { phase, key, payload });
    } catch (hookError) {
      log('error', `onError threw: ${describeError(hookError)}`);
    }
  };

  const verifier = createSyncVerifier<M>(settings.secrets, {
    maxAgeMs: settings.maxAgeMs,
    maxClockSkewMs: settings.maxClockSkewMs,
    parseMetadata: options.parseMetadata,
  });
  const route = createRouter<M, R>(options);
  // The user's key function, if any; the default is called without its second argument, which
  // would be an object made per delivery for nothing.
  const keyOf: KeyOf<M> | undefined = (options.idempotency || undefined)?.key;
  const leases =
    store && idempotency
      ? new Leases(store, idempotency, log, (e, p, k) => report(e, p, k))
      : undefined;
  const leaseMs = idempotency ? idempotency.leaseMs : 0;
  const runner = new Runner<M, R>({
    leases,
    deadLetters,
    sinkTimeoutMs: idempotency ? idempotency.timeoutMs : 2_000,
    timed: onDelivery !== undefined || telemetry !== undefined,
    report,
  });

  // The pipeline, step by step. Each step answers its code at once when nothing has to wait (a
  // body already read, a synchronous HMAC, the in-process store, a handler that returns no
  // promise), and a promise otherwise; a refusal is a WebhookError, thrown or rejected.

  /** Method, size and body; then the signature. */
  function pipeline(request: ReceiverRequest<R>, trace: Trace): Step {
    const body = request.body;
    // A body already read goes on at once, without a callback (one closure less per delivery).
    if (typeof body !== 'function') {
      return verified(
        request,
        trace,
        bodyBytes(request.method, request.headers, body, maxBodyBytes),
      );
    }
    return readBody(request.method, request.headers, body, maxBodyBytes, (bytes) =>
      verified(request, trace, bytes),
    );
  }

  /** Signature, payload and freshness; then routing. */
  function verified(request: ReceiverRequest<R>, trace: Trace, bytes: Uint8Array): Step {
    const headers = request.headers;
    const payload = verifier(bytes, headerOf(headers, SIGNATURE_HEADER));
    if (deadLetters) {
      trace.bytes = bytes;
      trace.headers = headers;
    }
    if (payload instanceof Promise) return payload.then((read) => routed(request, trace, read));
    return routed(request, trace, payload);
  }

  /** The handler for the topic; then the claim of the delivery's key. */
  function routed(request: ReceiverRequest<R>, trace: Trace, payload: Payload<M>): Step {
    const topic = topicOf(payload);
    trace.payload = payload;
    trace.topic = topic;

    const handler = route(payload) as AnyHandler<M, R> | undefined;
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

    const key = leases
      ? ((keyOf ? keyOf(payload, { topic, event: payload.event }) : defaultKey(payload)) ?? '')
      : '';
    trace.key = key || undefined;
    if (!leases || !key) return run(request, trace, payload, handler, key, undefined);
    const claimed = claim(leases, key, leaseMs);
    if (claimed instanceof Promise) {
      return claimed.then((found) => afterClaim(request, trace, payload, handler, key, found));
    }
    return afterClaim(request, trace, payload, handler, key, claimed);
  }

  function afterClaim(
    request: ReceiverRequest<R>,
    trace: Trace,
    payload: Payload<M>,
    handler: AnyHandler<M, R>,
    key: string,
    claimed: Claim,
  ): Step {
    if (claimed === 'completed') {
      trace.message = `Duplicate delivery of ${key}: already handled, handler not called.`;
      return 'duplicate';
    }
    if (claimed === 'in_progress') {
      trace.message = `Delivery of ${key} is already being handled; answered 503 so the sender retries later.`;
      return 'in_progress';
    }
    return run(request, trace, payload, handler, key, claimed);
  }

  /** The handler, now (`after-handler`) or in the background (`immediately`). */
  function run(
    request: ReceiverRequest<R>,
    trace: Trace,
    payload: Payload<M>,
    handler: AnyHandler<M, R>,
    key: string,
    claimed: Exclude<Claim, string> | undefined,
  ): Step {
    const ctx = new DeliveryContext<R>(
      request.headers,
      request.request,
      key,
      trace.topic,
      payload.event,
    );
    const work = runner.run(handler, payload, ctx, trace, claimed);
    if (respond === 'after-handler') return work;
    const keepAlive = request.waitUntil ?? settings.waitUntil;
    try {
      keepAlive?.(Promise.resolve(work));
    } catch (error) {
      trace.log(
        'warn',
        `waitUntil threw (${describeError(error)}); the handler still runs in this process.`,
      );
    }
    return 'received';
  }

  /** Records a refusal or an unexpected error on the trace. */
  function refused(trace: Trace, error: unknown): void {
    trace.error = error;
    if (isWebhookError(error) && error.code !== 'invalid_options') {
      trace.code = error.code;
      trace.message = error.message;
    } else {
      trace.code = 'internal_error';
      trace.message = `Unexpected error: ${describeError(error)}`;
      report(error, 'internal');
    }
  }

  function handle(request: ReceiverRequest<R>): Promise<ReceiverResponse> {
    const trace = newTrace(logOf(request.logger));
    try {
      if (telemetry) {
        try {
          trace.probe = telemetry.start({ method: request.method });
        } catch (error) {
          trace.log('error', `telemetry start threw: ${describeError(error)}`);
        }
      }
      let step: Step;
      try {
        step = pipeline(request, trace);
      } catch (error) {
        refused(trace, error);
        return Promise.resolve(settle(trace, answers, onDelivery));
      }
      if (typeof step === 'string') {
        trace.code = step;
        return Promise.resolve(settle(trace, answers, onDelivery));
      }
      return step.then(
        (code) => {
          trace.code = code;
          return settle(trace, answers, onDelivery);
        },
        (error: unknown) => {
          refused(trace, error);
          return settle(trace, answers, onDelivery);
        },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  function verify(
    body: BodyInput,
    signatureOrHeaders: HeadersInput | string | null | undefined,
  ): Promise<Payload<M>> {
    try {
      const signature =
        typeof signatureOrHeaders === 'string' || signatureOrHeaders == null
          ? signatureOrHeaders
          : headerOf(signatureOrHeaders, SIGNATURE_HEADER);
      if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new WebhookPayloadError(
          'The body must be the raw bytes (Uint8Array/Buffer) or a string.',
        );
      }
      return Promise.resolve(verifier(body, signature));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  const { secrets: _secrets, store: _store, handlers: _handlers, ...resolved } = settings;
  return {
    [RECEIVER]: true,
    handle,
    verify,
    drain: () => runner.drain(),
    options: Object.freeze(resolved),
  };
}
