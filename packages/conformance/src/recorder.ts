import type {
  DeliveryOutcome,
  HandlerContext,
  Logger,
  Payload,
  ReceiverOptions,
  Topic,
} from '@ittybit-webhooks/core';

/**
 * The handlers a receiver can call, by the option that holds them: the task handlers,
 * `onUnknown`, and `on['<topic>']` for the topic map.
 */
export type HandlerName =
  | 'onSucceeded'
  | 'onFailed'
  | 'onCancelled'
  | 'onUpdate'
  | 'onUnknown'
  | `on['${Topic}']`;

/** One handler call as the receiver made it. */
export interface Call {
  name: HandlerName;
  payload: Payload;
  ctx: HandlerContext<unknown>;
}

/** One log line: its level and the text the logger was given. */
export interface LogLine {
  level: string;
  message: string;
}

/**
 * Records every handler call, log line, `onError` report and `onDelivery` outcome of one
 * receiver; a case can make handlers wait or throw.
 */
export class Recorder {
  readonly calls: Call[] = [];
  /** Calls whose handler returned (did not throw). */
  readonly finished: Call[] = [];
  readonly logs: LogLine[] = [];
  /** What the receiver reported to `onError`, by phase. */
  readonly errors: { phase: string; error: unknown }[] = [];
  /** What the receiver told `onDelivery`, one per request it answered. */
  readonly outcomes: DeliveryOutcome[] = [];
  readonly onError = (error: unknown, info: { phase: string }): void => {
    this.errors.push({ phase: info.phase, error });
  };
  readonly onDelivery = (outcome: DeliveryOutcome): void => {
    this.outcomes.push(outcome);
  };
  /** Runs inside every handler call; may wait (a gate) or throw. */
  behaviour: (call: Call) => unknown = () => undefined;

  /** A handler that records its calls under `name`. */
  handler(name: HandlerName) {
    return async (payload: Payload, ctx: HandlerContext<unknown>): Promise<void> => {
      const call: Call = { name, payload, ctx };
      this.calls.push(call);
      await this.behaviour(call);
      this.finished.push(call);
    };
  }

  readonly logger: Logger = {
    error: (message: string) => this.logs.push({ level: 'error', message }),
    warn: (message: string) => this.logs.push({ level: 'warn', message }),
    info: (message: string) => this.logs.push({ level: 'info', message }),
    debug: (message: string) => this.logs.push({ level: 'debug', message }),
  };

  /** How many times each handler was called (handlers never called are left out). */
  counts(): Partial<Record<HandlerName, number>> {
    const counts: Partial<Record<HandlerName, number>> = {};
    for (const call of this.calls) counts[call.name] = (counts[call.name] ?? 0) + 1;
    return counts;
  }

  /** Log lines at `level` whose text contains every one of `parts`. */
  lines(level: string, ...parts: string[]): LogLine[] {
    return this.logs.filter(
      (line) => line.level === level && parts.every((part) => line.message.includes(part)),
    );
  }
}

/**
 * The receiver options every case starts from: a handler for every task state and every run
 * topic, each recording its calls, and the recorder's logger, `onError` and `onDelivery`.
 */
export function recordingOptions(
  rec: Recorder,
  secret: string,
): ReceiverOptions<Record<string, unknown>, unknown> & {
  on: NonNullable<ReceiverOptions['on']>;
} {
  return {
    secret,
    onSucceeded: rec.handler('onSucceeded'),
    onFailed: rec.handler('onFailed'),
    onCancelled: rec.handler('onCancelled'),
    onUpdate: rec.handler('onUpdate'),
    on: {
      'run.created': rec.handler("on['run.created']"),
      'run.updated': rec.handler("on['run.updated']"),
      'run.succeeded': rec.handler("on['run.succeeded']"),
      'run.failed': rec.handler("on['run.failed']"),
    },
    logger: rec.logger,
    onError: rec.onError,
    onDelivery: rec.onDelivery,
  };
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
