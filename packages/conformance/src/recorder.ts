import type { HandlerContext, Logger, Task } from '@ittybit-webhooks/core';

/** The four handlers a receiver can call. */
export type HandlerName = 'onSucceeded' | 'onFailed' | 'onCancelled' | 'onUpdate';

export const HANDLER_NAMES: readonly HandlerName[] = [
  'onSucceeded',
  'onFailed',
  'onCancelled',
  'onUpdate',
];

/** One handler call as the receiver made it. */
export interface Call {
  name: HandlerName;
  task: Task;
  ctx: HandlerContext<unknown>;
}

/** Records every handler call and log line of one receiver; a case can make handlers wait or throw. */
export class Recorder {
  readonly calls: Call[] = [];
  /** Calls whose handler returned (did not throw). */
  readonly finished: Call[] = [];
  readonly logs: { level: string; message: string }[] = [];
  /** What the receiver reported to `onError`, by phase. */
  readonly errors: { phase: string; error: unknown }[] = [];
  readonly onError = (error: unknown, info: { phase: string }): void => {
    this.errors.push({ phase: info.phase, error });
  };
  /** Runs inside every handler call; may wait (a gate) or throw. */
  behaviour: (call: Call) => unknown = () => undefined;

  handler(name: HandlerName) {
    return async (task: Task, ctx: HandlerContext<unknown>): Promise<void> => {
      const call: Call = { name, task, ctx };
      this.calls.push(call);
      await this.behaviour(call);
      this.finished.push(call);
    };
  }

  readonly logger: Logger = {
    error: (message) => this.logs.push({ level: 'error', message }),
    warn: (message) => this.logs.push({ level: 'warn', message }),
    info: (message) => this.logs.push({ level: 'info', message }),
    debug: (message) => this.logs.push({ level: 'debug', message }),
  };

  /** How many times each handler was called. */
  counts(): Record<HandlerName, number> {
    const counts = { onSucceeded: 0, onFailed: 0, onCancelled: 0, onUpdate: 0 };
    for (const call of this.calls) counts[call.name] += 1;
    return counts;
  }
}

/** A promise with its resolve function, for gates. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
