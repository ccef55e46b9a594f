import type { WebhookErrorCode } from './errors.js';

/** What an adapter writes back. Header names are lowercase. Shared between requests: never mutate. */
export interface ReceiverResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Every way a request can end: a success code or the refusal's error code. */
export type AnswerCode =
  | 'received'
  | 'duplicate'
  | 'unhandled'
  | 'unknown'
  | Exclude<WebhookErrorCode, 'invalid_options'>;

/** The response header that marks the answer to a duplicate delivery. */
export const DUPLICATE_HEADER = 'ittybit-webhook-duplicate';

const JSON_TYPE = 'application/json; charset=utf-8';

function answer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): ReceiverResponse {
  return Object.freeze({
    status,
    headers: Object.freeze({ 'content-type': JSON_TYPE, ...headers }),
    body,
  });
}

/**
 * The answer for every code, built once per receiver. The map is exhaustive: a new code that is
 * not given an answer here does not compile (and cannot silently become a 500).
 */
export function answerTable(
  retryAfterSeconds: number,
): Readonly<Record<AnswerCode, ReceiverResponse>> {
  const received = answer(200, '{"received":true}');
  const retry = { 'retry-after': String(retryAfterSeconds) };
  const unauthorized = answer(401, '{"error":"unauthorized"}');
  const table: Record<AnswerCode, ReceiverResponse> = {
    received,
    // An unknown topic or one without a handler is still acknowledged: a 4xx would drop it for
    // good at the sender, a 5xx would have it retried forever.
    unhandled: received,
    unknown: received,
    duplicate: answer(200, '{"received":true,"duplicate":true}', { [DUPLICATE_HEADER]: 'true' }),
    method_not_allowed: answer(405, '{"error":"method_not_allowed"}', { allow: 'POST' }),
    payload_too_large: answer(413, '{"error":"payload_too_large"}'),
    body_timeout: answer(408, '{"error":"body_timeout"}', { connection: 'close' }),
    // One body for every signature failure: the sender is not told which check failed.
    missing_signature: unauthorized,
    invalid_signature: unauthorized,
    stale_delivery: unauthorized,
    // Final: a retry of the same signed bytes cannot fix them.
    invalid_payload: answer(400, '{"error":"invalid_payload"}'),
    // 5xx with Retry-After: the sender retries, and nothing is lost.
    in_progress: answer(503, '{"error":"in_progress"}', retry),
    store_unavailable: answer(503, '{"error":"store_unavailable"}', retry),
    handler_failed: answer(500, '{"error":"handler_failed"}'),
    body_consumed: answer(500, '{"error":"body_consumed"}'),
    internal_error: answer(500, '{"error":"internal_error"}'),
  };
  return Object.freeze(table);
}
