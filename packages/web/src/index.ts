import {
  type Logger,
  type Metadata,
  type Receiver,
  type ReceiverOptions,
  toReceiver,
  WebhookError,
} from '@ittybit-webhooks/core';

/** Keeps the runtime alive until a promise settles (a Worker's `ctx.waitUntil`, Next.js `after`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/**
 * A Web-standard route handler: `Request` in, `Response` out. The optional `context` may be
 * anything with a `waitUntil` method (a Worker's `ctx`, Hono's `c.executionCtx`), which then keeps
 * `respond: 'immediately'` work alive; anything else (Next.js passes `{ params }`) is ignored.
 * It is typed `unknown` so that the handler passes Next.js's route-handler type check as it is.
 */
export type WebhookHandler = (request: Request, context?: unknown) => Promise<Response>;

/** Options of {@link ittybitWebhook}, or a ready receiver shared with other code. */
export type IttybitWebhookOptions<M = Metadata> =
  | ReceiverOptions<M, Request>
  | Receiver<M, Request>;

const CONSUMED =
  'The request body was already read (request.json(), request.text(), c.req.json() or a validator) before the Ittybit webhook handler got it. Give it the untouched Request: in Next.js `export const POST = ittybitWebhook({...})` and never read the body first; in Hono `app.post(path, (c) => handler(c.req.raw))` with no body-reading middleware before it.';

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

async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.bodyUsed || request.body?.locked) {
    throw new WebhookError('body_consumed', CONSUMED);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
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
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * Creates a `(request, context?) => Promise<Response>` handler for an Ittybit webhook endpoint:
 * Next.js route handlers (`export const POST = ittybitWebhook({...})`), Hono, Bun, Deno and
 * Cloudflare Workers (`fetch: (req, env, ctx) => handler(req, ctx)`).
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: IttybitWebhookOptions<M>,
): WebhookHandler {
  // The receiver is made on the first request, not at import: `next build` imports route modules
  // without the run-time secret. A missing secret then answers 500 (Ittybit retries until it is
  // set) and logs what to set, instead of failing the build.
  let receiver: Receiver<M, Request> | undefined;
  return async (request, context) => {
    try {
      receiver ??= toReceiver(optionsOrReceiver);
    } catch (error) {
      const { logger } = optionsOrReceiver as { logger?: Logger | false };
      if (logger !== false) (logger ?? console).error(`[ittybit-webhooks] ${String(error)}`);
      return new Response('{"error":"internal_error"}', {
        status: 500,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }
    const immediately = receiver.options.respond === 'immediately';
    const answer = await receiver.handle({
      method: request.method,
      headers: request.headers,
      body: (maxBytes) => readBody(request, maxBytes),
      request,
      // An explicit `waitUntil` option (e.g. Next.js `after`) wins over Vercel's request context;
      // without any, core tracks the promise (`drain()`).
      waitUntil: immediately
        ? keepAliveFrom(context, receiver.options.waitUntil === undefined)
        : undefined,
    });
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
}
