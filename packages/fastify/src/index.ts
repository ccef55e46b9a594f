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
import { finishNodeRequest, keptNodeBody, nodeBodyReader } from '@ittybit-webhooks/core/node';
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';
import getRawBody from 'raw-body';

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
 * it as every adapter does (405 with `Allow: POST` for all methods but POST). It reads the body
 * itself in the route's `onRequest` hook, before Fastify's content-type parsing (which would
 * refuse an empty or unusual `Content-Type` with a final 415), and answers there; methods that
 * Fastify does not route (PROPFIND, PURGE, ...) reach the same code through a not-found handler
 * scoped to the path. Everything stays encapsulated: sibling routes keep their parsers, hooks and
 * not-found handler. Under the path itself, unknown sub-paths get Fastify's default 404 body.
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: ReceiverInput<M, FastifyRequest>,
  mount?: MountOptions,
): FastifyPluginAsync {
  const receiver = toReceiver(optionsOrReceiver);
  const path = mountPath(mount) ?? DEFAULT_PATH;
  const timeoutMs = receiver.options.bodyTimeoutMs;

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
   * Runs the receiver and writes its answer. A callback-style hook that sends and never calls
   * `done` ends the request there (Fastify's way to answer from a hook); `fail` hands an
   * unexpected error to Fastify's error handler.
   */
  function deliver(
    request: FastifyRequest,
    reply: FastifyReply,
    fail: (error: Error) => void,
  ): void {
    receiver
      .handle({
        method: request.method,
        headers: request.headers,
        body: nodeBodyReader(request.raw, {
          read: getRawBody,
          kept: () => keptNodeBody(request.raw),
          consumedHint: CONSUMED,
          timeoutMs,
        }),
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

  /** Not reached by the hook (`done` is never called with no error); answers all the same. */
  function answerLate(request: FastifyRequest, reply: FastifyReply): void {
    deliver(request, reply, (error) => reply.send(error));
  }

  return async (fastify: FastifyInstance) => {
    // A context of its own whose prefix is the path: its not-found handler sees only this path
    // (and what is under it), so methods Fastify does not route are answered here too.
    await fastify.register(
      async (endpoint) => {
        const full = endpoint.prefix;
        endpoint.route({
          method: endpoint.supportedMethods as HTTPMethods[],
          url: '',
          // Answered in the hook, before Fastify parses the body: the handler is never reached.
          onRequest: deliver,
          handler: answerLate,
        });
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
