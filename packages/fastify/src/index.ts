import type { Metadata } from '@ittybit-webhooks/core';
import {
  type BodyReader,
  type MountOptions,
  mountPath,
  pathOf,
  type ReceiverInput,
  type ReceiverRequest,
  type ReceiverResponse,
  requestLogger,
  toReceiver,
} from '@ittybit-webhooks/core/adapter';
import {
  finishNodeRequest,
  type NodeBodyOptions,
  nodeBodyReader,
  readNodeBody,
  readStream,
} from '@ittybit-webhooks/core/node';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';

/** Where the endpoint is mounted unless `path` says otherwise. */
export const DEFAULT_PATH = '/webhooks/ittybit';

const CONSUMED =
  "Something read this request's body before the Ittybit webhook plugin (an onRequest hook, or an Express body parser through @fastify/express or @fastify/middie), so its exact bytes are gone. Keep that parser out of the plugin's encapsulation context (register it in a sibling plugin), or keep the raw bytes with its verify hook: express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }) (the plugin then uses req.rawBody).";

/**
 * A Fastify plugin that mounts an Ittybit webhook endpoint at `path` (default
 * `/webhooks/ittybit`, inside the prefix it is registered with). Handlers get the Fastify request
 * as `ctx.request`.
 *
 * ```ts
 * app.register(ittybitWebhook({ secret, onSucceeded, onFailed }, { path: '/webhooks/ittybit' }));
 * ```
 *
 * The endpoint takes every request on its path, whatever its method or content type, and answers
 * it as every adapter does (405 with `Allow: POST` for all methods but POST). A POST's body is
 * read by the endpoint's own content-type parser, which takes every content type and keeps the
 * exact bytes; an unusual `Content-Type` that Fastify refuses before any parser (415) is answered
 * by the endpoint's error handler the same way. Other methods are answered in the route's
 * `onRequest` hook, before any parsing; methods that Fastify does not route (PROPFIND, PURGE,
 * ...) reach the same code through a not-found handler scoped to the path. Everything stays
 * encapsulated: sibling routes keep their parsers, hooks, error and not-found handlers. Hooks
 * registered on a parent (an app-wide `onRequest` or `preHandler`) run for the endpoint as for any
 * route. Under the path itself, unknown sub-paths get Fastify's default 404 body.
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: ReceiverInput<M, FastifyRequest>,
  mount?: MountOptions,
): FastifyPluginAsync {
  const receiver = toReceiver(optionsOrReceiver);
  const path = mountPath(mount) ?? DEFAULT_PATH;
  const { bodyTimeoutMs, maxBodyBytes } = receiver.options;
  // How a body is read: the bytes a parser kept on the request if any, else the stream.
  const streamed: NodeBodyOptions = {
    read: readStream,
    consumedHint: CONSUMED,
    timeoutMs: bodyTimeoutMs,
  };

  /** Writes an answer: status, headers (names already lowercase), the JSON body. */
  function write(request: FastifyRequest, reply: FastifyReply, answer: ReceiverResponse): void {
    finishNodeRequest(request.raw, reply.raw);
    reply.code(answer.status);
    // `type` stores the value as it is; `header` lowercases the name first. A fresh delivery's
    // answer has no other header.
    const headers = answer.headers;
    for (const name in headers) {
      if (name === 'content-type') reply.type(headers[name] as string);
      else reply.header(name, headers[name]);
    }
    reply.send(answer.body);
  }

  /**
   * Runs the receiver and writes its answer. `fail` hands an unexpected error to Fastify's error
   * handling.
   */
  function deliver(
    request: FastifyRequest,
    reply: FastifyReply,
    body: ReceiverRequest['body'],
    fail: (error: Error) => void,
  ): void {
    receiver
      .handle({
        method: request.method,
        headers: request.headers,
        body,
        request,
        logger: requestLogger(request.log),
      })
      .then((answer) => {
        try {
          write(request, reply, answer);
        } catch (error) {
          fail(error as Error);
        }
      }, fail);
  }

  /**
   * The endpoint's only content-type parser, for every content type: the exact bytes, or what
   * went wrong as a reader that fails with it (another parser took the stream, too large, too
   * slow), so that the handler answers every outcome through the receiver.
   */
  function parse(
    request: FastifyRequest,
    _payload: unknown,
    done: (error: null, body: Uint8Array | BodyReader | undefined) => void,
  ): void {
    readNodeBody(request.raw, streamed, maxBodyBytes, (error, body) => {
      done(null, error ? () => Promise.reject(error) : body);
    });
  }

  /** POST: the body as `parse` left it (none when the request has no body). */
  function handler(request: FastifyRequest, reply: FastifyReply): void {
    deliver(request, reply, request.body as Uint8Array | BodyReader | undefined, (error) =>
      reply.send(error),
    );
  }

  /** The body read from the stream, for the requests that reach neither `parse` nor `handler`. */
  function unparsed(request: FastifyRequest): BodyReader {
    return nodeBodyReader(request.raw, streamed);
  }

  /**
   * Every other method, answered in the route's `onRequest` hook before Fastify parses anything.
   * A callback-style hook that sends and never calls `done` ends the request there (Fastify's way
   * to answer from a hook); an unexpected error goes to `done`.
   */
  function onRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    done: (error?: Error) => void,
  ): void {
    deliver(request, reply, unparsed(request), done);
  }

  /**
   * Answers with the body still on the stream: for the error handler (a `Content-Type` Fastify
   * refused), the not-found handler, and as other methods' route handler, which the hook answers
   * first.
   */
  function answerLate(request: FastifyRequest, reply: FastifyReply): void {
    deliver(request, reply, unparsed(request), (error) => reply.send(error));
  }

  return async (fastify: FastifyInstance) => {
    // A context of its own whose prefix is the path: its parser, error handler and not-found
    // handler see only this path (and what is under it).
    await fastify.register(
      async (endpoint) => {
        const full = endpoint.prefix;
        endpoint.removeAllContentTypeParsers();
        // Also under Ittybit's own type: Fastify caches the parser it finds for a named type, but
        // looks the catch-all up afresh on every request.
        endpoint.addContentTypeParser(['application/json', '*'], parse);
        endpoint.route({ method: 'POST', url: '', handler });
        endpoint.route({
          method: (endpoint.supportedMethods as HTTPMethods[]).filter((m) => m !== 'POST'),
          url: '',
          onRequest,
          handler: answerLate,
        });
        // Fastify answers a malformed `Content-Type` with 415 before any parser runs: the
        // endpoint answers it as any other delivery instead. Other errors go on to the parent's
        // error handler.
        endpoint.setErrorHandler((error: FastifyError, request, reply) => {
          if (error.code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || pathOf(request.url) !== full) {
            throw error;
          }
          answerLate(request, reply);
        });
        // Methods Fastify does not route (PROPFIND, PURGE, ...) come here.
        endpoint.setNotFoundHandler((request, reply) => {
          if (pathOf(request.url) === full) return answerLate(request, reply);
          return reply.code(404).send({
            message: `Route ${request.method}:${request.url} not found`,
            error: 'Not Found',
            statusCode: 404,
          });
        });
      },
      { prefix: path },
    );

    // `app.close()` waits for handlers still running in the background (`respond: 'immediately'`).
    fastify.addHook('onClose', async () => {
      await receiver.drain();
    });
  };
}
