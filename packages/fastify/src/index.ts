import {
  type BodyInput,
  type BodyReader,
  type Metadata,
  type Receiver,
  type ReceiverOptions,
  toReceiver,
  WebhookError,
} from '@ittybit-webhooks/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the route is mounted unless `path` says otherwise. */
export const DEFAULT_PATH = '/webhooks/ittybit';

/**
 * Options of {@link ittybitWebhook}: the route `path` plus either the receiver options
 * (`secret`, `onSucceeded`, `onFailed`, ...) or a ready `receiver` shared with other code.
 */
export type IttybitWebhookOptions<M = Metadata> = {
  /** Route path inside the plugin's prefix (default `/webhooks/ittybit`). */
  path?: string;
} & (ReceiverOptions<M, FastifyRequest> | { receiver: Receiver<M, FastifyRequest> });

const CONSUMED =
  'request.body reached the Ittybit webhook route already parsed, so its exact bytes are gone: register the plugin with app.register(ittybitWebhook, { path, ... }) (it brings its own raw-body parser; do not wrap it in fastify-plugin) and make sure no hook replaces request.body on its route.';

async function answer<M>(
  receiver: Receiver<M, FastifyRequest>,
  request: FastifyRequest,
  reply: FastifyReply,
  body: BodyInput | BodyReader | undefined,
): Promise<FastifyReply> {
  const result = await receiver.handle({
    method: request.method,
    headers: request.headers,
    body,
    request,
  });
  return reply.code(result.status).headers(result.headers).send(result.body);
}

/**
 * Fastify plugin that mounts an Ittybit webhook endpoint at `path`. It stays encapsulated: its
 * raw-body parser and error handler apply to its own route only, so sibling routes keep parsing
 * JSON as before. Use `app.register(ittybitWebhook, { path: '/webhooks/ittybit', ...options })`.
 */
export async function ittybitWebhook<M = Metadata>(
  fastify: FastifyInstance,
  options: IttybitWebhookOptions<M>,
): Promise<void> {
  const path = options.path ?? DEFAULT_PATH;
  const receiver =
    'receiver' in options
      ? toReceiver(options.receiver)
      : toReceiver(options as ReceiverOptions<M, FastifyRequest>);
  const limit = receiver.options.maxBodyBytes;

  // The signature covers the exact bytes: every content type (and none) arrives as a Buffer.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  // Fastify refuses bodies over `bodyLimit` itself; let core write that 413 so it is the same
  // answer (and log line) as in every other adapter. Other errors go to the app's handler.
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
    return answer(receiver, request, reply, async () => {
      throw new WebhookError('payload_too_large', `Body is over maxBodyBytes (${limit}).`);
    });
  });

  // Every method, so that a GET gets core's 405 with `Allow: POST` rather than a 404.
  fastify.all(path, { bodyLimit: limit }, (request, reply) => {
    const body = request.body;
    if (body === undefined || body === null || Buffer.isBuffer(body)) {
      return answer(receiver, request, reply, body ?? undefined);
    }
    return answer(receiver, request, reply, async () => {
      throw new WebhookError('body_consumed', CONSUMED);
    });
  });

  // `app.close()` waits for handlers still running in the background (`respond: 'immediately'`).
  fastify.addHook('onClose', async () => {
    await receiver.drain();
  });
}
