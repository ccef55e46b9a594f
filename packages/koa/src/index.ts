import type { Metadata } from '@ittybit-webhooks/core';
import { WebhookError } from '@ittybit-webhooks/core';
import {
  type MountOptions,
  mountPath,
  type ReceiverInput,
  type ReceiverResponse,
  requestLogger,
  toReceiver,
} from '@ittybit-webhooks/core/adapter';
import {
  finishNodeRequest,
  type NodeBodyOptions,
  nodeBodyReader,
  type StreamReader,
} from '@ittybit-webhooks/core/node';
import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';

/** Koa 2/3 middleware; answers every request it takes. */
export type IttybitWebhookMiddleware = (ctx: Context, next: Next) => Promise<void>;

/** What body parsers leave on `ctx.request` (`@koa/bodyparser` keeps the decoded text). */
interface ParsedRequest {
  body?: unknown;
  rawBody?: unknown;
}

const CONSUMED =
  'Another body parser read this request first, so its exact bytes are gone. Mount ittybitWebhook() before bodyParser(), or set ctx.disableBodyParser = true for this path in a middleware that runs before bodyParser() (@koa/bodyparser then skips the request).';

const encoder = new TextEncoder();

/** The exact bytes a body parser kept on `ctx.request`, if it did. */
function keptBytes(ctx: Context): Uint8Array | undefined {
  const parsed = ctx.request as unknown as ParsedRequest;
  if (parsed.rawBody instanceof Uint8Array) return parsed.rawBody;
  if (parsed.body instanceof Uint8Array) return parsed.body;
  if (typeof parsed.rawBody !== 'string') return undefined;
  // @koa/bodyparser's decoded text is the same bytes unless decoding dropped a BOM or replaced
  // invalid UTF-8. Content-Length tells: if the bytes changed, answer body_consumed (500, the
  // sender retries) rather than a 401 that would lose the delivery for good.
  const text = encoder.encode(parsed.rawBody);
  const declared = ctx.req.headers['content-length'];
  if (declared !== undefined && Number(declared) !== text.length) {
    throw new WebhookError(
      'body_consumed',
      `@koa/bodyparser decoded this body and changed its bytes (${declared} sent, ${text.length} left), so the signature cannot be checked. ${CONSUMED}`,
    );
  }
  return text;
}

/**
 * How `nodeBodyReader` reads one request's body: one object per request rather than an options
 * literal and two closures over `ctx` (core calls `kept` and `onRead` as its methods).
 */
class KoaBody implements NodeBodyOptions {
  // Declared only, set in the constructor: class fields would be defined once more before it.
  declare readonly ctx: Context;
  declare readonly timeoutMs: number;
  declare readonly read: StreamReader;
  declare readonly consumedHint: string;

  constructor(ctx: Context, timeoutMs: number) {
    this.ctx = ctx;
    this.timeoutMs = timeoutMs;
    this.read = getRawBody;
    this.consumedHint = CONSUMED;
  }

  kept(): Uint8Array | undefined {
    return keptBytes(this.ctx);
  }

  /** A later @koa/bodyparser skips requests whose `ctx.request.body` is set. */
  onRead(body: Uint8Array): void {
    (this.ctx.request as unknown as ParsedRequest).body = body;
  }
}

/**
 * Koa 2/3 middleware receiving Ittybit webhooks: reads the exact body bytes from `ctx.req`, runs
 * the core receiver and sets its answer. Handlers get the Koa `ctx` as `ctx.request`.
 *
 * ```ts
 * router.post('/webhooks/ittybit', ittybitWebhook({ secret, onSucceeded, onFailed }));
 * app.use(ittybitWebhook({ secret, onSucceeded, onFailed }, { path: '/webhooks/ittybit' })); // 405 for GET
 * ```
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: ReceiverInput<M, Context>,
  mount?: MountOptions,
): IttybitWebhookMiddleware {
  const receiver = toReceiver(optionsOrReceiver);
  const path = mountPath(mount);
  const timeoutMs = receiver.options.bodyTimeoutMs;
  return (ctx, next) => {
    // `ctx.path` parses the URL; a target equal to the path needs no parsing.
    if (path !== undefined && ctx.req.url !== path && ctx.path !== path) return next();
    // The Node request's own fields: `ctx.method` and `ctx.headers` are getters in front of them.
    const req = ctx.req;
    return receiver
      .handle({
        method: req.method ?? '',
        headers: req.headers,
        body: nodeBodyReader(req, new KoaBody(ctx, timeoutMs)),
        request: ctx,
        logger: requestLogger((ctx as { log?: unknown }).log),
      })
      .then((answer) => respond(ctx, answer));
  };
}

/**
 * Sets the receiver's answer on `ctx`; Koa writes it after the middleware stack unwinds. The
 * content type goes on before the body, so Koa's body setter keeps it instead of sniffing the
 * string; the headers go straight to `res.setHeader` (what `ctx.set` ends in, minus copying the
 * object into arrays).
 */
function respond(ctx: Context, answer: ReceiverResponse): void {
  finishNodeRequest(ctx.req, ctx.res);
  ctx.status = answer.status;
  const res = ctx.res;
  if (!res.headersSent) {
    const headers = answer.headers;
    for (const name in headers) res.setHeader(name, headers[name] as string);
  }
  ctx.body = answer.body;
}
