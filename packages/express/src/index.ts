import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BodyReader,
  type Metadata,
  type Receiver,
  type ReceiverOptions,
  toReceiver,
  WebhookError,
} from '@ittybit-webhooks/core';
import type { Request } from 'express';
import getRawBody from 'raw-body';

/** Express 4/5 middleware that is also a plain `node:http` request listener. It always answers. */
export type IttybitWebhookMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** What body parsers leave on the request (`express.raw()`, a `verify` hook, body-parser 1.x). */
interface ParsedRequest {
  body?: unknown;
  rawBody?: unknown;
  _body?: unknown;
}

const MOUNT_HINT =
  "Another body parser already read this request, so its exact bytes are gone: mount ittybitWebhook() before app.use(express.json()) (or any other body parser), or give this route express.raw({ type: '*/*' }) first.";

/** The exact body bytes: those a parser kept for us, else read from the stream under the limit. */
function bodyOf(req: IncomingMessage): BodyReader {
  return async (maxBytes) => {
    const parsed = req as unknown as ParsedRequest;
    if (parsed.body instanceof Uint8Array) return parsed.body;
    if (parsed.rawBody instanceof Uint8Array) return parsed.rawBody;
    // body-parser 1.x sets `_body` before reading; any reader sets `readableDidRead`.
    if (parsed._body === true || req.readableDidRead || req.readableEnded) {
      throw new WebhookError('body_consumed', MOUNT_HINT);
    }
    const body = await getRawBody(req, { length: req.headers['content-length'], limit: maxBytes });
    // A later body-parser then skips this request: 1.x checks `_body`, 2.x sees it finished.
    parsed._body = true;
    parsed.body = body;
    return body;
  };
}

/**
 * Express 4/5 (or `http.createServer`) middleware receiving Ittybit webhooks: reads the exact
 * body bytes, runs the core receiver and writes its answer. Handlers get the request as
 * `ctx.request`. Mount it before any JSON body parser.
 */
export function ittybitWebhook<M = Metadata, R extends IncomingMessage = Request>(
  optionsOrReceiver: ReceiverOptions<M, R> | Receiver<M, R>,
): IttybitWebhookMiddleware {
  const receiver = toReceiver(optionsOrReceiver);
  return async (req, res, next) => {
    try {
      const answer = await receiver.handle({
        method: req.method ?? '',
        headers: req.headers,
        body: bodyOf(req),
        request: req as R,
      });
      if (res.headersSent) return;
      if (!req.complete) {
        // Answered before the whole body arrived (413): drop the rest and do not reuse the socket.
        res.setHeader('connection', 'close');
        req.resume();
      }
      res.statusCode = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      res.end(answer.body);
    } catch (error) {
      if (next) return next(error);
      res.statusCode = 500;
      res.end();
    }
  };
}
