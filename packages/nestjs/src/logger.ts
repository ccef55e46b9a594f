import type { Logger } from '@ittybit-webhooks/core';
import { type LoggerService, Logger as NestLogger } from '@nestjs/common';

/** The context name of the library's lines in Nest's log. */
export const LOG_CONTEXT = 'IttybitWebhook';

const PREFIX = /^\[ittybit-webhooks\] /;

/** True for a Nest logger (`Logger`, a custom `LoggerService`): it has `log` where others have `info`. */
export function isNestLogger(value: unknown): value is LoggerService {
  const candidate = value as { log?: unknown; info?: unknown; error?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.log === 'function' &&
    typeof candidate.error === 'function' &&
    typeof candidate.info !== 'function'
  );
}

/**
 * The library's log lines through a Nest logger: `info` becomes `log`, and the line's own
 * `[ittybit-webhooks]` prefix gives way to Nest's context column.
 */
export function fromNestLogger(logger: LoggerService): Logger {
  const line = (message: unknown) => String(message).replace(PREFIX, '');
  return {
    error: (message: unknown) => logger.error(line(message)),
    warn: (message: unknown) => logger.warn(line(message)),
    info: (message: unknown) => logger.log(line(message)),
    debug: (message: unknown) => logger.debug?.(line(message)),
  };
}

/**
 * The receiver's `logger` option inside a Nest app: Nest's own `Logger` (context
 * `IttybitWebhook`) unless one was given; a Nest logger given is bridged; anything else (console,
 * pino, winston, `false`) is the receiver's business.
 */
export function nestLogger(option: unknown): Logger | false {
  if (option === undefined) return fromNestLogger(new NestLogger(LOG_CONTEXT));
  if (isNestLogger(option)) return fromNestLogger(option);
  return option as Logger | false;
}
