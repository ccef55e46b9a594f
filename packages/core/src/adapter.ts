/**
 * What adapters are built from (`@ittybit-webhooks/core/adapter`): turning options into a
 * receiver, the request and response shapes of `receiver.handle`, and header helpers. Apps do not
 * need this; they install an adapter.
 */
import { WebhookError } from './errors.js';
import type { Logger } from './log.js';
import type { Metadata } from './model.js';
import type { ReceiverOptions } from './options.js';
import { createReceiver, RECEIVER, type Receiver } from './receiver.js';

export type { ReceiverResponse } from './answers.js';
export { toBytes } from './bytes.js';
export { Deadlines, deadlinesOf, type Reading } from './deadlines.js';
export { type HeadersInput, headerOf, normalizeHeaders } from './headers.js';
export type { BodyReader, Receiver, ReceiverRequest } from './receiver.js';
export type { BodyInput } from './verify.js';

/** What every adapter's `ittybitWebhook` takes first: receiver options, or a ready receiver. */
export type ReceiverInput<M = Metadata, R = unknown> = ReceiverOptions<M, R> | Receiver<M, R>;

/** Where an adapter is mounted, its second argument. */
export interface MountOptions {
  /**
   * Answer only requests to this exact path (for `app.use`); other paths go on to the next
   * middleware. With it, every method on the path is answered (405 for all but POST).
   */
  path?: string;
}

/** True for a receiver made by `createReceiver` (by its brand, across copies of this package). */
export function isReceiver(value: unknown): value is Receiver<never, never> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [RECEIVER]?: unknown })[RECEIVER] === true
  );
}

/** The receiver for an adapter's input: the ready one, or one made from the options. */
export function toReceiver<M, R>(input: ReceiverInput<M, R>): Receiver<M, R> {
  return isReceiver(input)
    ? (input as unknown as Receiver<M, R>)
    : createReceiver(input as ReceiverOptions<M, R>);
}

/** A path option, checked: it must start with `/`. */
export function mountPath(mount: MountOptions | undefined): string | undefined {
  const path = mount?.path;
  if (path === undefined) return undefined;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new WebhookError(
      'invalid_options',
      `ittybitWebhook: path must start with "/"; got ${String(path)}.`,
    );
  }
  return path;
}

/** The path part of a request target (`/webhooks/ittybit?x=1` → `/webhooks/ittybit`). */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The logger a framework (or its logging middleware) put on a request: Fastify's `request.log`,
 * pino-http's `req.log`, koa-pino-logger's `ctx.log`. Only a live logger counts: Fastify's
 * stand-in when the app has no logger has no `level`, and is ignored.
 */
export function requestLogger(value: unknown): Logger | undefined {
  const candidate = value as Partial<Logger> & { level?: unknown };
  return typeof candidate?.error === 'function' &&
    typeof candidate.warn === 'function' &&
    typeof candidate.level === 'string'
    ? (candidate as Logger)
    : undefined;
}

/**
 * Logs a creation error the way the receiver would have (adapters that create the receiver
 * lazily use it).
 */
export function logCreationError(input: unknown, error: unknown): void {
  const logger = (input as { logger?: Logger | false } | undefined)?.logger;
  if (logger === false) return;
  try {
    (logger ?? console).error(`[ittybit-webhooks] ${String(error)}`);
  } catch {
    // A broken logger must not change the answer.
  }
}
