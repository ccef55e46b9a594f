import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metadata } from '@ittybit-webhooks/core';
import {
  type MountOptions,
  mountPath,
  pathOf,
  type ReceiverInput,
  type ReceiverResponse,
  requestLogger,
  toReceiver,
} from '@ittybit-webhooks/core/adapter';
import { finishNodeRequest, nodeBodyReader } from '@ittybit-webhooks/core/node';
import type { Request } from 'express';
import getRawBody from 'raw-body';

/** Express 4/5 middleware that is also a plain `node:http` request listener. */
export type IttybitWebhookMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** What body-parser looks at to skip a request whose body was already read. */
interface ParsedRequest {
  body?: unknown;
  _body?: unknown;
}

const CONSUMED =
  "Another body parser read this request first, so its exact bytes are gone. Either mount ittybitWebhook() before app.use(express.json()), or keep the raw bytes in the parser's verify hook: app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } })) (the adapter then uses req.rawBody). Adding express.raw() to the route does not help once a global parser ran.";

// Answers are shared between requests, so each one's headers are built once, Content-Length
// included: without it Node would send the body with chunked encoding (more bytes and writes).
const written = new WeakMap<ReceiverResponse, Record<string, string | number>>();

function headersOf(answer: ReceiverResponse): Record<string, string | number> {
  let headers = written.get(answer);
  if (!headers) {
    headers = { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) };
    written.set(answer, headers);
  }
  return headers;
}

/**
 * Express 4/5 (or `http.createServer`) middleware receiving Ittybit webhooks: reads the exact
 * body bytes (or those a parser kept on `req.rawBody`), runs the core receiver and writes its
 * answer. Handlers get the request as `ctx.request`.
 *
 * ```ts
 * app.post('/webhooks/ittybit', ittybitWebhook({ secret, onSucceeded, onFailed }));
 * app.use(ittybitWebhook({ secret, onSucceeded, onFailed }, { path: '/webhooks/ittybit' })); // 405 for GET
 * ```
 */
export function ittybitWebhook<M = Metadata, R extends IncomingMessage = Request>(
  optionsOrReceiver: ReceiverInput<M, R>,
  mount?: MountOptions,
): IttybitWebhookMiddleware {
  const receiver = toReceiver(optionsOrReceiver);
  const path = mountPath(mount);
  const timeoutMs = receiver.options.bodyTimeoutMs;
  return async (req, res, next) => {
    if (path !== undefined && pathOf(req.url) !== path) {
      if (next) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    try {
      const parsed = req as IncomingMessage & ParsedRequest;
      const answer = await receiver.handle({
        method: req.method ?? '',
        headers: req.headers,
        body: nodeBodyReader(req, {
          read: getRawBody,
          // A later body-parser then skips this request: 1.x checks `_body`, 2.x sees it finished.
          onRead: (body) => {
            parsed._body = true;
            parsed.body = body;
          },
          consumedHint: CONSUMED,
          timeoutMs,
        }),
        request: req as R,
        logger: requestLogger((req as { log?: unknown }).log),
      });
      if (res.headersSent) return;
      finishNodeRequest(req, res);
      res.writeHead(answer.status, headersOf(answer));
      res.end(answer.body);
    } catch (error) {
      if (next) return next(error);
      res.statusCode = 500;
      res.end();
    }
  };
}
