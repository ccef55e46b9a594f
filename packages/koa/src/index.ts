import {
  type BodyReader,
  type Metadata,
  type Receiver,
  type ReceiverOptions,
  toReceiver,
  WebhookError,
} from '@ittybit-webhooks/core';
import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';

/** Options or a ready receiver, plus an optional `path` for mounting with `app.use`. */
export type IttybitWebhookOptions<M = Metadata> = (
  | ReceiverOptions<M, Context>
  | Receiver<M, Context>
) & {
  /** Only answer requests to this exact path; other paths go on to `next()`. */
  path?: string;
};

/** Koa 2/3 middleware; answers every request it takes. */
export type IttybitWebhookMiddleware = (ctx: Context, next: Next) => Promise<void>;

/** What body parsers leave on `ctx.request` (`@koa/bodyparser` keeps the decoded text). */
interface ParsedRequest {
  body?: unknown;
  rawBody?: unknown;
}

const MOUNT_HINT =
  'Another body parser already read this request, so its exact bytes are gone: set ctx.disableBodyParser = true for this route before @koa/bodyparser runs, or mount ittybitWebhook() before the body parser.';

/** The exact body bytes: read from `ctx.req` under the limit, or what a body parser kept. */
function bodyOf(ctx: Context): BodyReader {
  return async (maxBytes) => {
    const parsed = ctx.request as unknown as ParsedRequest;
    if (parsed.rawBody instanceof Uint8Array) return parsed.rawBody;
    if (parsed.body instanceof Uint8Array) return parsed.body;
    // @koa/bodyparser's decoded text is the same bytes unless decoding dropped a BOM or replaced
    // invalid UTF-8. Content-Length tells: if the bytes changed, answer body_consumed (500, the
    // sender retries) rather than a 401 that would lose the delivery for good.
    if (typeof parsed.rawBody === 'string') {
      const text = new TextEncoder().encode(parsed.rawBody);
      const declared = ctx.req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== text.length) {
        throw new WebhookError(
          'body_consumed',
          `@koa/bodyparser decoded this body and changed its bytes (${declared} sent, ${text.length} left), so the signature cannot be checked: ${MOUNT_HINT}`,
        );
      }
      return text;
    }
    const req = ctx.req;
    if (req.readableDidRead || req.readableEnded)
      throw new WebhookError('body_consumed', MOUNT_HINT);
    const body = await getRawBody(req, { length: req.headers['content-length'], limit: maxBytes });
    // A later @koa/bodyparser skips requests whose `ctx.request.body` is set.
    parsed.body = body;
    return body;
  };
}

/**
 * Koa 2/3 middleware receiving Ittybit webhooks: reads the exact body bytes from `ctx.req`, runs
 * the core receiver and sets its answer. Handlers get the Koa `ctx` as `ctx.request`. With
 * `path`, other paths are passed to `next()` (for `app.use`); with `@koa/router`, omit it.
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: IttybitWebhookOptions<M>,
): IttybitWebhookMiddleware {
  const path = optionsOrReceiver.path;
  const receiver = toReceiver<M, Context>(optionsOrReceiver);
  return async (ctx, next) => {
    if (path !== undefined && ctx.path !== path) return next();
    const answer = await receiver.handle({
      method: ctx.method,
      headers: ctx.headers,
      body: bodyOf(ctx),
      request: ctx,
    });
    if (!ctx.req.complete) {
      // Answered before the whole body arrived (413): drop the rest and do not reuse the socket.
      ctx.set('connection', 'close');
      ctx.req.resume();
    }
    ctx.status = answer.status;
    ctx.set(answer.headers);
    ctx.body = answer.body;
  };
}
