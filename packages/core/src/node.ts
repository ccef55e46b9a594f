/**
 * Reading a Node.js request body for a receiver (`@ittybit-webhooks/core/node`), shared by the
 * Express and Koa adapters: bytes a body parser kept, else the stream read under the size limit
 * and `bodyTimeoutMs`, and the cleanup after an answer given before the body ended.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deadlinesOf } from './deadlines.js';
import { WebhookError } from './errors.js';
import type { BodyReader } from './receiver.js';

/**
 * Reads a stream whole under a byte limit and calls back with the bytes or the error: raw-body's
 * `getRawBody` fits. A callback rather than a promise: raw-body's promise form, and the reactions
 * reading it, measured 0.7 KB more allocated per request on Fastify.
 */
export type StreamReader = (
  stream: IncomingMessage,
  options: { length?: string | undefined; limit: number },
  callback: (error: unknown, body?: Uint8Array) => void,
) => void;

/**
 * Options of {@link nodeBodyReader}. `kept` and `onRead` are called as methods of this object, so
 * an adapter may pass one object per request (a class instance holding its context) instead of
 * closures.
 */
export interface NodeBodyOptions {
  /** Reads the stream (raw-body's `getRawBody`). */
  read: StreamReader;
  /** The exact bytes a body parser kept for this request, if any (may throw `body_consumed`). */
  kept?: () => Uint8Array | undefined;
  /** Called with the bytes once read, so later body parsers can skip the request. */
  onRead?: (body: Uint8Array) => void;
  /** What to do when another body parser took the stream: the message of the `body_consumed` error. */
  consumedHint: string;
  /** The receiver's `bodyTimeoutMs`. */
  timeoutMs: number;
}

const timedOut = new WeakSet<IncomingMessage>();

/**
 * The exact bytes a body parser kept on a Node request, if it did: a `Buffer` body
 * (`express.raw()`), or `req.rawBody` (a parser's `verify` hook, Google Cloud Functions).
 */
export function keptNodeBody(req: IncomingMessage): Uint8Array | undefined {
  // Typed `unknown`: some packages declare these fields on IncomingMessage with other types.
  const { body, rawBody } = req as unknown as { body?: unknown; rawBody?: unknown };
  if (body instanceof Uint8Array) return body;
  if (rawBody instanceof Uint8Array) return rawBody;
  return undefined;
}

/**
 * The body of a Node request as the receiver wants it: what a parser kept, else the stream read
 * under the limit. Past `timeoutMs` it stops reading and throws `body_timeout` (408).
 */
export function nodeBodyReader(req: IncomingMessage, options: NodeBodyOptions): BodyReader {
  return (maxBytes) => {
    const kept = options.kept?.();
    if (kept) return Promise.resolve(kept);
    // body-parser 1.x sets `_body` before reading; any reader sets `readableDidRead`.
    if ((req as { _body?: unknown })._body === true || req.readableDidRead || req.readableEnded) {
      return Promise.reject(new WebhookError('body_consumed', options.consumedHint));
    }
    const list = deadlinesOf(options.timeoutMs);
    return new Promise<Uint8Array>((resolve, reject) => {
      // Declared before the read starts: a reader may call back at once (raw-body does not).
      let timer: ReturnType<typeof list.add> | undefined;
      let done = false;
      options.read(
        req,
        { length: req.headers['content-length'], limit: maxBytes },
        (error, body) => {
          done = true;
          if (timer) list.remove(timer);
          if (error) {
            reject(error);
            return;
          }
          options.onRead?.(body as Uint8Array);
          resolve(body as Uint8Array);
        },
      );
      if (done) return;
      timer = list.add(() => {
        timedOut.add(req);
        // Stop taking data: the buffer is dropped when the socket closes after the answer.
        req.pause();
        reject(
          new WebhookError(
            'body_timeout',
            `The body was still arriving after bodyTimeoutMs (${options.timeoutMs} ms); answered 408 and closed the connection.`,
          ),
        );
      });
    });
  };
}

/**
 * Call after writing an answer given before the whole body arrived (413, 408): the connection
 * is closed rather than reused. After a 413 the rest of the body is drained; after a 408 the
 * socket is ended once the answer is out, which frees what was buffered.
 */
export function finishNodeRequest(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  if (!res.headersSent) res.setHeader('connection', 'close');
  if (!timedOut.has(req)) {
    req.resume();
    return;
  }
  res.once('finish', () => {
    const socket = req.socket;
    socket.end();
    setTimeout(() => socket.destroy(), 1_000).unref();
  });
}
