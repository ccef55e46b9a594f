/** Stable machine-readable codes for every way a delivery can be refused or fail. */
export type WebhookErrorCode =
  | 'invalid_options'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'body_timeout'
  | 'missing_signature'
  | 'invalid_signature'
  | 'stale_delivery'
  | 'invalid_payload'
  | 'body_consumed'
  | 'store_unavailable'
  | 'in_progress'
  | 'handler_failed'
  | 'internal_error';

/**
 * The one error family of this library. `code` is stable; `message` says what happened and what
 * to do about it. Errors never carry payloads, signatures or secrets.
 */
export class WebhookError extends Error {
  /** Stable code, safe to switch on. */
  readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookError';
    this.code = code;
  }
}

/** The signature header is missing, malformed, or matches none of the configured secrets. */
export class WebhookVerificationError extends WebhookError {
  constructor(code: 'missing_signature' | 'invalid_signature' | 'stale_delivery', message: string) {
    super(code, message);
    this.name = 'WebhookVerificationError';
  }
}

/** The body was signed correctly but is not JSON, or a known shape with a broken field. */
export class WebhookPayloadError extends WebhookError {
  /** Dotted path of the offending field, when one field is to blame (e.g. `data.id`). */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super('invalid_payload', message);
    this.name = 'WebhookPayloadError';
    this.field = field;
  }
}

/** True when `value` is a {@link WebhookError} (works across duplicated copies of this package). */
export function isWebhookError(value: unknown): value is WebhookError {
  return (
    value instanceof WebhookError ||
    (value instanceof Error &&
      typeof (value as { code?: unknown }).code === 'string' &&
      value.name.startsWith('Webhook'))
  );
}

/** Short text of any thrown value, for log lines. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
