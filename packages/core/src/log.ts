/** A log method: `console.warn`-like, or a structured logger's (pino, winston) own. */
// biome-ignore lint/suspicious/noExplicitAny: any logger method signature is accepted.
type LogMethod = (...args: any[]) => unknown;

/**
 * Where the library logs: `console`, pino (and Fastify's `request.log`), winston, or anything with
 * `error` and `warn` (and optionally `info`, `debug`). Structured loggers get the fields as an
 * object; `console` gets one readable line.
 */
export interface Logger {
  error: LogMethod;
  warn: LogMethod;
  info?: LogMethod;
  debug?: LogMethod;
}

/** Log levels the library uses. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Fields of a log line: the delivery's topic, ids, key, status and code, where known. */
export type LogFields = Record<string, unknown>;

/** Writes one log line; never throws. */
export type Log = (level: LogLevel, message: string, fields?: LogFields) => void;

const PREFIX = '[ittybit-webhooks]';

type Style = 'text' | 'object-first' | 'message-first';

/**
 * How a logger wants its arguments: pino and bunyan (and Fastify's logger) take `(fields, message)`;
 * winston takes `(message, fields)`; `console` and anything else gets one line of text.
 */
function styleOf(logger: Logger): Style {
  if (logger === (globalThis.console as unknown)) return 'text';
  const candidate = logger as { child?: unknown; add?: unknown; transports?: unknown };
  if (typeof candidate.child !== 'function') return 'text';
  if (typeof candidate.add === 'function' && candidate.transports !== undefined) {
    return 'message-first';
  }
  return 'object-first';
}

/** {@link createLog} for a logger, made when the first line is written. */
export function lazyLog(logger: Logger): Log {
  let log: Log | undefined;
  return (level, message, fields) => {
    log ??= createLog(logger);
    log(level, message, fields);
  };
}

/** Makes the library's `log` for a logger (`undefined`: silence). */
export function createLog(logger: Logger | undefined): Log {
  if (!logger) return () => {};
  const style = styleOf(logger);
  return (level, message, fields) => {
    const method = logger[level];
    if (typeof method !== 'function') return;
    try {
      if (style === 'text') method.call(logger, `${PREFIX} ${message}`);
      else if (style === 'object-first')
        method.call(logger, { lib: 'ittybit-webhooks', ...fields }, message);
      else method.call(logger, `${PREFIX} ${message}`, { lib: 'ittybit-webhooks', ...fields });
    } catch {
      // A broken logger must not change the answer.
    }
  };
}
