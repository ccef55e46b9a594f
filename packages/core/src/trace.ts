import type { AnswerCode, ReceiverResponse } from './answers.js';
import { describeError } from './errors.js';
import type { HeadersInput } from './headers.js';
import type { Log, LogFields, LogLevel } from './log.js';
import type { Payload } from './model.js';
import type { DeliveryOutcome, DeliveryProbe } from './options.js';

/** Where one request got to in the pipeline: what its log line and `onDelivery` are told. */
export interface Trace {
  code: AnswerCode;
  /** The receiver's log, or the request's own logger's (Fastify's `request.log`, pino-http's). */
  log: Log;
  probe?: DeliveryProbe;
  /** Kept for a dead letter only: the request headers and the exact body bytes. */
  headers?: HeadersInput;
  bytes?: Uint8Array;
  payload?: Payload<unknown>;
  topic?: string;
  key?: string;
  durationMs?: number;
  error?: unknown;
  message?: string;
}

/**
 * A request's trace with every field in place from the start: one allocation of one shape, where
 * adding the fields as the pipeline goes would grow the object several times.
 */
export function newTrace(log: Log): Trace {
  return {
    code: 'received',
    log,
    probe: undefined,
    headers: undefined,
    bytes: undefined,
    payload: undefined,
    topic: undefined,
    key: undefined,
    durationMs: undefined,
    error: undefined,
    message: undefined,
  };
}

// Log level of each answer; `undefined`: not logged. Busy duplicates and stray GETs are routine.
const LEVELS: Record<AnswerCode, LogLevel | undefined> = {
  received: undefined,
  unhandled: 'debug',
  unknown: 'warn',
  duplicate: 'info',
  method_not_allowed: 'info',
  in_progress: 'info',
  payload_too_large: 'warn',
  body_timeout: 'warn',
  missing_signature: 'warn',
  invalid_signature: 'warn',
  stale_delivery: 'warn',
  invalid_payload: 'warn',
  store_unavailable: 'error',
  handler_failed: 'error',
  body_consumed: 'error',
  internal_error: 'error',
};

/** The fields of a log line about this delivery: code, topic, ids and key where known. */
export function fieldsOf(trace: Trace): LogFields {
  const payload = trace.payload;
  const fields: LogFields = { code: trace.code };
  if (trace.topic) fields.topic = trace.topic;
  if (payload?.event?.id) fields.eventId = payload.event.id;
  if (payload?.id) fields.id = payload.id;
  if (trace.key) fields.key = trace.key;
  return fields;
}

/** How the request ended, for `onDelivery` and telemetry. */
function outcomeOf(trace: Trace, status: number): DeliveryOutcome {
  const payload = trace.payload;
  const outcome: DeliveryOutcome = {
    status,
    code: trace.code,
    duplicate: trace.code === 'duplicate',
  };
  if (trace.topic) outcome.topic = trace.topic;
  if (payload?.event?.id) outcome.eventId = payload.event.id;
  if (payload?.id) outcome.id = payload.id;
  if (trace.key) outcome.key = trace.key;
  if (trace.durationMs !== undefined) outcome.durationMs = trace.durationMs;
  if (trace.error !== undefined) outcome.error = trace.error;
  return outcome;
}

/**
 * Ends a request: the answer for its code, one log line at the code's level, and `onDelivery`
 * and telemetry told once. Hooks that throw are logged and never change the answer.
 */
export function settle(
  trace: Trace,
  answers: Readonly<Record<AnswerCode, ReceiverResponse>>,
  onDelivery: ((outcome: DeliveryOutcome) => void) | undefined,
): ReceiverResponse {
  const code = trace.code;
  const answer = answers[code];
  const level = LEVELS[code];
  if (level && trace.message) {
    trace.log(level, `${answer.status} ${code}: ${trace.message}`, {
      status: answer.status,
      ...fieldsOf(trace),
    });
  }
  if (onDelivery || trace.probe) {
    const outcome = outcomeOf(trace, answer.status);
    try {
      onDelivery?.(outcome);
    } catch (error) {
      trace.log('error', `onDelivery threw: ${describeError(error)}`);
    }
    try {
      trace.probe?.end(outcome);
    } catch (error) {
      trace.log('error', `telemetry end threw: ${describeError(error)}`);
    }
  }
  return answer;
}
