/**
 * Reading a Node.js request body for a receiver (`@ittybit-webhooks/core/node`), shared by the
 * Express, Fastify and Koa adapters: bytes a body parser kept, else the stream read under the size
 * limit and `bodyTimeoutMs`, and the cleanup after an answer given before the body ended.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deadlinesOf } from './deadlines.js';
import { WebhookError, WebhookPayloadError } from './errors.js';
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

/** A stream being read by {@link readStream}, kept on the stream itself. */
interface Reading {
  /** The first chunk; later chunks go to `rest`. One chunk is the usual case for a delivery. */
  first: Buffer | undefined;
  rest: Buffer[] | undefined;
  received: number;
  readonly limit: number;
  readonly callback: (error: unknown, body?: Uint8Array) => void;
}

const READING = Symbol('ittybit-webhooks.reading');
type ReadStream = IncomingMessage & { [READING]?: Reading | undefined };

/**
 * A {@link StreamReader} lighter than raw-body, for a framework whose own request handling
 * already costs what raw-body adds (Fastify): one object per read, the stream's listeners shared
 * by every read (they find the read on the stream), and a body that arrived in one chunk handed
 * on without a copy. Stops past `limit` with `payload_too_large`, and with `invalid_payload` when
 * the stream fails or closes before its end (the client went away); the stream is left paused.
 */
export const readStream: StreamReader = (stream, { length, limit }, callback) => {
  if (length !== undefined && Number(length) > limit) {
    callback(tooLarge(limit));
    return;
  }
  const s = stream as ReadStream;
  s[READING] = { first: undefined, rest: undefined, received: 0, limit, callback };
  s.on('data', onChunk);
  s.on('end', onEnd);
  s.on('error', onError);
  s.on('close', onClose);
};

function tooLarge(limit: number): WebhookError {
  return new WebhookError('payload_too_large', `Body is over maxBodyBytes (${limit}).`);
}

/** Ends a read: the listeners off, the read off the stream, then the callback. */
function settle(stream: ReadStream, error: unknown, body?: Uint8Array): void {
  const reading = stream[READING] as Reading;
  stream[READING] = undefined;
  stream.off('data', onChunk);
  stream.off('end', onEnd);
  stream.off('error', onError);
  stream.off('close', onClose);
  if (error) stream.pause();
  reading.callback(error, body);
}

function onChunk(this: ReadStream, chunk: Buffer): void {
  const reading = this[READING] as Reading;
  reading.received += chunk.length;
  if (reading.received > reading.limit) {
    settle(this, tooLarge(reading.limit));
  } else if (reading.first === undefined) {
    reading.first = chunk;
  } else if (reading.rest === undefined) {
    reading.rest = [reading.first, chunk];
  } else {
    reading.rest.push(chunk);
  }
}

function onEnd(this: ReadStream): void {
  const { first, rest, received } = this[READING] as Reading;
  settle(this, null, rest ? Buffer.concat(rest, received) : (first ?? Buffer.alloc(0)));
}

function onError(this: ReadStream, error: Error): void {
  settle(this, new WebhookPayloadError(`Could not read the request body: ${error.message}`));
}

function onClose(this: ReadStream): void {
  settle(this, new WebhookPayloadError('The request closed before its body ended.'));
}

/**
 * Options of {@link nodeBodyReader}. `kept` and `onRead` are called as methods of this object, so
 * an adapter may pass one object per request (a class instance holding its context) instead of
 * closures.
 */
export interface NodeBodyOptions {
  /** Reads the stream (raw-body's `getRawBody`). */
  read: StreamReader;
  /**
   * The exact bytes a body parser kept for this request, if any (may throw `body_consumed`).
   * Default: {@link keptNodeBody} of the request.
   */
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
  return (maxBytes) =>
    new Promise<Uint8Array>((resolve, reject) => {
      readNodeBody(req, options, maxBytes, (error, body) => {
        if (error) reject(error);
        else resolve(body as Uint8Array);
      });
    });
}

/**
 * {@link nodeBodyReader}'s work in callback form, for a framework that reads the body in a
 * callback of its own (Fastify's content-type parser): calls back once, with the bytes or with
 * the error to answer (`body_consumed`, `body_timeout`, or the reader's own, such as a 413 past
 * `maxBytes`). May call back before it returns, when a parser kept the bytes.
 */
export function readNodeBody(
  req: IncomingMessage,
  options: NodeBodyOptions,
  maxBytes: number,
  callback: (error: unknown, body?: Uint8Array) => void,
): void {
  const kept = options.kept ? options.kept() : keptNodeBody(req);
  if (kept) {
    callback(null, kept);
    return;
  }
  // body-parser 1.x sets `_body` before reading; any reader sets `readableDidRead`.
  if ((req as { _body?: unknown })._body === true || req.readableDidRead || req.readableEnded) {
    callback(new WebhookError('body_consumed', options.consumedHint));
    return;
  }
  const list = deadlinesOf(options.timeoutMs);
  // Declared before the read starts: a reader may call back at once (raw-body does not).
  let timer: ReturnType<typeof list.add> | undefined;
  let done = false;
  options.read(req, { length: req.headers['content-length'], limit: maxBytes }, (error, body) => {
    if (done) return;
    done = true;
    if (timer) list.remove(timer);
    if (error) {
      callback(error);
      return;
    }
    options.onRead?.(body as Uint8Array);
    callback(null, body);
  });
  if (done) return;
  timer = list.add(() => {
    done = true;
    timedOut.add(req);
    // Stop taking data: the buffer is dropped when the socket closes after the answer.
    req.pause();
    callback(
      new WebhookError(
        'body_timeout',
        `The body was still arriving after bodyTimeoutMs (${options.timeoutMs} ms); answered 408 and closed the connection.`,
      ),
    );
  });
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
