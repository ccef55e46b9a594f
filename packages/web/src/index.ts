import { type Metadata, WebhookError } from '@ittybit-webhooks/core';
import {
  type Deadlines,
  deadlinesOf,
  logCreationError,
  type MountOptions,
  mountPath,
  type Receiver,
  type ReceiverInput,
  type ReceiverResponse,
  toReceiver,
} from '@ittybit-webhooks/core/adapter';

/** Keeps the runtime alive until a promise settles (a Worker's `ctx.waitUntil`, Next.js `after`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * A Web-standard route handler: `Request` in, `Response` out. The optional `context` may be
 * anything with a `waitUntil` method (a Worker's `ctx`, Hono's `c.executionCtx`), which then keeps
 * `respond: 'immediately'` work alive; anything else (Next.js passes `{ params }`) is ignored.
 * It is typed `unknown` so that the handler passes Next.js's route-handler type check as it is.
 */
export type WebhookHandler = (request: Request, context?: unknown) => Promise<Response>;

const CONSUMED =
  'The request body was already read (request.json(), request.text(), c.req.json() or a validator) before the Ittybit webhook handler got it. Give it the untouched Request: in Next.js `export const POST = ittybitWebhook({...})` and never read the body first; in Hono `app.all(path, (c) => handler(c.req.raw))` with no body-reading middleware before it.';

// Vercel's runtime publishes the current request's `waitUntil` here (what `@vercel/functions` reads).
const VERCEL_CONTEXT = Symbol.for('@vercel/request-context');

interface WaitUntilHolder {
  waitUntil?: unknown;
}

/** The context argument's `waitUntil`, else (unless the options have one) Vercel's. */
function keepAliveFrom(context: unknown, vercel: boolean): WaitUntil | undefined {
  const holders: unknown[] = [context];
  if (vercel) {
    holders.push(
      (globalThis as { [VERCEL_CONTEXT]?: { get?: () => unknown } })[VERCEL_CONTEXT]?.get?.(),
    );
  }
  for (const holder of holders as (WaitUntilHolder | undefined)[]) {
    // Called as a method: a Worker's `ctx.waitUntil` throws "Illegal invocation" when detached.
    if (typeof holder?.waitUntil === 'function') {
      return (promise) => (holder.waitUntil as WaitUntil).call(holder, promise);
    }
  }
  return undefined;
}

async function readStream(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > maxBytes) {
      // Stop the upload instead of buffering the rest of it.
      reader.cancel().catch(() => {});
      throw new WebhookError(
        'payload_too_large',
        `Body is over maxBodyBytes (${maxBytes}); stopped reading after ${size} bytes.`,
      );
    }
    chunks.push(chunk.value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Whether one timer may keep the deadlines of every body being read: on Node, Bun and Deno a timer
 * is the process's and outlives the request that set it. Not on Cloudflare Workers, where a timer
 * belongs to the request that made it (its `navigator.userAgent`, as Hono and std-env detect it,
 * and `WebSocketPair`, a Workers-only global), nor on a runtime this does not recognise: those get a
 * timer per request.
 */
function sharedTimers(): boolean {
  const global = globalThis as {
    navigator?: { userAgent?: unknown };
    EdgeRuntime?: unknown;
    process?: { release?: { name?: unknown } };
  };
  if (
    global.navigator?.userAgent === 'Cloudflare-Workers' ||
    'WebSocketPair' in global ||
    global.EdgeRuntime !== undefined
  ) {
    return false;
  }
  return 'Bun' in global || 'Deno' in global || global.process?.release?.name === 'node';
}

function bodyTimeout(timeoutMs: number): WebhookError {
  return new WebhookError(
    'body_timeout',
    `The body was still arriving after bodyTimeoutMs (${timeoutMs} ms); answered 408.`,
  );
}

/** How a runtime's `arrayBuffer()` answers: the bytes, or why it could not read them. */
const ARRAY_BUFFER: Outcome<ArrayBuffer> = {
  bytes: (buffer) => new Uint8Array(buffer),
  // Every runtime refuses a body that was read or locked by another reader with a TypeError; a
  // connection that broke mid-body fails with another error.
  error: (error) =>
    error instanceof TypeError ? new WebhookError('body_consumed', CONSUMED) : error,
};

/** How a counted stream read answers: its bytes, or its error (`payload_too_large`, …) as it is. */
const STREAM: Outcome<Uint8Array> = {
  bytes: (bytes) => bytes,
  error: (error) => error,
};

/** What a read's value and failure mean for the receiver. */
interface Outcome<T> {
  bytes: (value: T) => Uint8Array;
  error: (error: unknown) => unknown;
}

/** Starts and stops one body's deadline: the shared list ({@link Deadlines}) or a timer of its own. */
interface Timers {
  add(expire: () => void): unknown;
  remove(handle: unknown): void;
}

/** A timer per body: where a timer belongs to the request that set it (Workers). */
function ownTimers(timeoutMs: number): Timers {
  return {
    add: (expire) => setTimeout(expire, timeoutMs),
    remove: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  };
}

/** How one handler reads bodies: the limit in time, and the timers that keep it. */
interface BodyTiming {
  timeoutMs: number;
  timers: Timers;
}

/**
 * The bytes of `reading`, or a `body_timeout` error once `timeoutMs` has passed: one promise for
 * whichever comes first.
 */
function withDeadline<T>(
  reading: Promise<T>,
  outcome: Outcome<T>,
  { timeoutMs, timers }: BodyTiming,
): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const deadline = timers.add(() => reject(bodyTimeout(timeoutMs)));
    reading.then(
      (value) => {
        timers.remove(deadline);
        resolve(outcome.bytes(value));
      },
      (error: unknown) => {
        timers.remove(deadline);
        reject(outcome.error(error));
      },
    );
  });
}

/**
 * The exact body bytes under the limit. With a `Content-Length` (already checked against the limit
 * by the receiver, and enforced by the HTTP layer's framing) the runtime's own `arrayBuffer()` is
 * the fastest read; a chunked body is counted while it streams.
 */
function readBody(
  request: Request,
  maxBytes: number,
  declared: string | undefined,
  timing: BodyTiming,
): Promise<Uint8Array> {
  // `request.body` is touched only for a chunked body: on Hono's Node server (and other lightweight
  // requests) it builds a whole web stream that its own `arrayBuffer()` does without.
  if (request.bodyUsed) return Promise.reject(new WebhookError('body_consumed', CONSUMED));
  if (declared !== undefined) {
    return withDeadline(request.arrayBuffer(), ARRAY_BUFFER, timing);
  }
  const body = request.body;
  if (!body) return Promise.resolve(new Uint8Array(0));
  if (body.locked) return Promise.reject(new WebhookError('body_consumed', CONSUMED));
  return withDeadline(readStream(body, maxBytes), STREAM, timing);
}

const INTERNAL_ERROR = '{"error":"internal_error"}';

/** The receiver and what each request needs of its options, read once. */
interface Ready<M> {
  receiver: Receiver<M, Request>;
  timing: BodyTiming;
  immediately: boolean;
  vercel: boolean;
}

function ready<M>(receiver: Receiver<M, Request>): Ready<M> {
  const { bodyTimeoutMs, respond, waitUntil } = receiver.options;
  return {
    receiver,
    timing: {
      timeoutMs: bodyTimeoutMs,
      timers: sharedTimers() ? deadlinesOf(bodyTimeoutMs) : ownTimers(bodyTimeoutMs),
    },
    immediately: respond === 'immediately',
    // An explicit `waitUntil` option (e.g. Next.js `after`) wins over Vercel's request context;
    // without any, core tracks the promise (`drain()`).
    vercel: waitUntil === undefined,
  };
}

/**
 * The answer as a `Response`: a string body and a plain header record, which Hono's Node server
 * writes straight out without building a web `Response`.
 */
function toResponse(answer: ReceiverResponse): Response {
  return new Response(answer.body, {
    status: answer.status,
    headers: answer.headers as Record<string, string>,
  });
}

/**
 * Creates a `(request, context?) => Promise<Response>` handler for an Ittybit webhook endpoint:
 * Next.js route handlers, Hono, Bun, Deno and Cloudflare Workers. With `path`, requests to other
 * paths get a 404.
 *
 * ```ts
 * export const POST = ittybitWebhook({ secret, onSucceeded, onFailed }); // Next.js
 * export default { fetch: (req, env, ctx) => handler(req, ctx) };         // Workers
 * ```
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: ReceiverInput<M, Request>,
  mount?: MountOptions,
): WebhookHandler {
  const path = mountPath(mount);
  // The receiver is made on the first request, not at import: `next build` imports route modules
  // without the run-time secret. A missing secret then answers 500 (Ittybit retries until it is
  // set) and logs what to set, instead of failing the build.
  let state: Ready<M> | undefined;
  return (request, context) => {
    try {
      if (path !== undefined && new URL(request.url).pathname !== path) {
        return Promise.resolve(new Response(null, { status: 404 }));
      }
      if (!state) {
        try {
          state = ready(toReceiver(optionsOrReceiver));
        } catch (error) {
          logCreationError(optionsOrReceiver, error);
          return Promise.resolve(
            new Response(INTERNAL_ERROR, {
              status: 500,
              headers: { 'content-type': 'application/json; charset=utf-8' },
            }),
          );
        }
      }
      const { receiver, timing } = state;
      return receiver
        .handle({
          method: request.method,
          headers: request.headers,
          body: (maxBytes, declared) => readBody(request, maxBytes, declared, timing),
          request,
          waitUntil: state.immediately ? keepAliveFrom(context, state.vercel) : undefined,
        })
        .then(toResponse);
    } catch (error) {
      // As from an async function: a failure is a rejected promise, never a throw.
      return Promise.reject(error);
    }
  };
}
