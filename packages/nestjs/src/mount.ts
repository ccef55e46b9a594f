import { type Receiver, WebhookError } from '@ittybit-webhooks/core';
import { ittybitWebhook as expressWebhook } from '@ittybit-webhooks/express';
import { ittybitWebhook as fastifyWebhook } from '@ittybit-webhooks/fastify';
import type { AbstractHttpAdapter, HttpAdapterHost } from '@nestjs/core';

/** The HTTP adapter methods the route needs (Nest's `AbstractHttpAdapter`). */
type HttpAdapter = Pick<AbstractHttpAdapter, 'getType' | 'getInstance'>;

/**
 * Serves the receiver at `path` on the app's own Express or Fastify instance, ahead of Nest's
 * body parsers:
 * - Express: a middleware added to the Express app before Nest adds `express.json()` and
 *   `express.urlencoded()` (that happens in `app.init()`), so the stream is still unread when the
 *   webhook route reads it; the parsers then skip the request, and every other path goes on to them.
 * - Fastify: an encapsulated plugin with its own raw-body parser for its one route; the app's
 *   JSON parser keeps serving every other route.
 */
export function mountReceiver(
  adapter: HttpAdapter,
  receiver: Receiver<never, never>,
  path: string,
): void {
  const type = adapter.getType();
  const instance = adapter.getInstance() as {
    use?: (handler: unknown) => unknown;
    register?: (plugin: unknown) => unknown;
  };
  if (type === 'express' && typeof instance.use === 'function') {
    instance.use(expressWebhook(receiver, { path }));
    return;
  }
  if (type === 'fastify' && typeof instance.register === 'function') {
    instance.register(fastifyWebhook(receiver, { path }));
    return;
  }
  throw new WebhookError(
    'invalid_options',
    `IttybitWebhookModule: the HTTP adapter "${type}" is not supported; use @nestjs/platform-express or @nestjs/platform-fastify.`,
  );
}

/**
 * Calls `mount` with the app's HTTP adapter as soon as there is one, which is before
 * `app.init()` registers Nest's body parsers:
 * - `NestFactory.create(...)` sets the adapter before it creates any provider, so this mounts at once;
 * - `Test.createTestingModule(...).compile()` creates the providers first and sets the adapter in
 *   `createNestApplication()`: the adapter host's `init$` tells when.
 * An application context without HTTP (`createApplicationContext`) mounts nothing.
 *
 * Returns an error to throw from `onModuleInit` when mounting failed after creation.
 */
export function whenAdapterReady(
  host: HttpAdapterHost,
  mount: (adapter: HttpAdapter) => void,
): () => unknown {
  let failure: unknown;
  const run = () => {
    const adapter = host.httpAdapter as HttpAdapter | null | undefined;
    if (adapter) mount(adapter);
  };
  if (host.httpAdapter) {
    run();
  } else if ((host as { init$?: unknown }).init$) {
    host.init$.subscribe(() => {
      try {
        run();
      } catch (error) {
        failure = error;
      }
    });
  } else {
    failure = new WebhookError(
      'invalid_options',
      'IttybitWebhookModule: this @nestjs/core has no HttpAdapterHost.init$, so the webhook route cannot be mounted in a testing module; use @nestjs/core 11.1.4 or later.',
    );
  }
  return () => failure;
}
