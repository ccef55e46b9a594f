import type { Metadata, Payload } from './model.js';
import type { Handler, ReceiverOptions } from './options.js';
import { topicOf } from './parse.js';

type AnyHandler<M, R> = Handler<Payload<M>, R>;

/** Picks the handler of a payload; `undefined` when the user has none for its topic. */
export type Router<M, R> = (payload: Payload<M>) => AnyHandler<M, R> | undefined;

/**
 * Routing, resolved once: an unknown payload goes to `onUnknown`; a run to `on[topic]` only (never
 * a task handler); a `task.failed` task that was cancelled to `onCancelled` when given; else a
 * task to `on[topic]`, else by topic: `task.succeeded` → `onSucceeded`, `task.failed` → `onFailed`,
 * `task.created` / `task.updated` → `onUpdate`. Bare task and job shapes have their topic derived
 * from the status.
 */
export function createRouter<M = Metadata, R = unknown>(
  options: ReceiverOptions<M, R>,
): Router<M, R> {
  const byTopic = new Map<string, AnyHandler<M, R>>();
  const set = (topic: string, handler: unknown) => {
    if (typeof handler === 'function') byTopic.set(topic, handler as AnyHandler<M, R>);
  };
  set('task.succeeded', options.onSucceeded);
  set('task.failed', options.onFailed);
  set('task.created', options.onUpdate);
  set('task.updated', options.onUpdate);
  for (const [topic, handler] of Object.entries(options.on ?? {})) set(topic, handler);
  const onCancelled = options.onCancelled as AnyHandler<M, R> | undefined;
  const onUnknown = options.onUnknown as AnyHandler<M, R> | undefined;
  return (payload) => {
    if (payload.object === 'unknown') return onUnknown;
    const topic = topicOf(payload);
    if (topic === undefined) return undefined;
    if (onCancelled && topic === 'task.failed' && payload.status === 'cancelled')
      return onCancelled;
    return byTopic.get(topic);
  };
}
