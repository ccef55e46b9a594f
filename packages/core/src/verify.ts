import { decodeUtf8 } from '#crypto';
import { toBytes } from './bytes.js';
import {
  describeError,
  WebhookError,
  WebhookPayloadError,
  WebhookVerificationError,
} from './errors.js';
import { type HeadersInput, headerOf } from './headers.js';
import type { Metadata, Payload } from './model.js';
import { parsePayload } from './parse.js';
import {
  checkSignatureNow,
  SIGNATURE_HEADER,
  type SignatureCheck,
  secretList,
} from './signature.js';

/** A body as bytes (a Node `Buffer` is one) or as a string taken as UTF-8. */
export type BodyInput = Uint8Array | string;

/** Options of {@link verifyWebhook}. */
export interface VerifyOptions<M = Metadata> {
  /** The webhook secret; several during rotation (any may match). */
  secret: string | readonly string[] | undefined;
  /** Refuse deliveries whose signed time is older than this (default: off). */
  maxAgeMs?: number;
  /** With `maxAgeMs`: how far in the future a signed time may be (default 5 min). */
  maxClockSkewMs?: number;
  /** Validates and types `metadata`; a throw is a {@link WebhookPayloadError}. */
  parseMetadata?: (metadata: unknown) => M;
}

/** Verifies and reads one delivery; see {@link verifyWebhook}. */
export type Verifier<M> = (body: BodyInput, signature: unknown) => Promise<Payload<M>>;

function toText(bytes: Uint8Array): string {
  try {
    // Strict, and without a leading BOM (JSON.parse would refuse it).
    return decodeUtf8(bytes);
  } catch {
    throw new WebhookPayloadError('Body is not valid UTF-8.');
  }
}

/** Reads signed bytes as JSON and then as a payload; any failure is a payload error (400). */
function read<M>(bytes: Uint8Array): Payload<M> {
  let json: unknown;
  try {
    json = JSON.parse(toText(bytes));
  } catch (error) {
    if (error instanceof WebhookPayloadError) throw error;
    throw new WebhookPayloadError('Body is signed but is not valid JSON.');
  }
  try {
    return parsePayload<M>(json);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    // Whatever a hostile but signed payload does to the reader, the answer is final (400), never
    // a 500 that the sender would retry forever.
    throw new WebhookPayloadError(`Payload could not be read: ${describeError(error)}`);
  }
}

/**
 * A verifier that answers synchronously where the HMAC is (`node:crypto`): the payload, or a
 * throw. Returns a promise only where the HMAC is asynchronous (Web Crypto).
 */
export type SyncVerifier<M> = (
  body: BodyInput,
  signature: unknown,
) => Payload<M> | Promise<Payload<M>>;

/**
 * Makes a verifier with the secrets and checks resolved once: signature over the exact bytes,
 * JSON, payload shape, metadata, freshness. Throws {@link WebhookVerificationError} (401) or
 * {@link WebhookPayloadError} (400), synchronously where the HMAC is synchronous.
 */
export function createSyncVerifier<M = Metadata>(
  secrets: readonly string[],
  options: Omit<VerifyOptions<M>, 'secret'>,
): SyncVerifier<M> {
  const { maxAgeMs, parseMetadata } = options;
  const maxClockSkewMs = options.maxClockSkewMs ?? 5 * 60 * 1000;

  function refuse(check: SignatureCheck, signature: unknown): never {
    if (check === 'missing') {
      throw new WebhookVerificationError(
        'missing_signature',
        `No ${SIGNATURE_HEADER} header. Deliveries from Ittybit always carry one; check that nothing between Ittybit and this server strips it.`,
      );
    }
    if (check === 'malformed') {
      throw new WebhookVerificationError(
        'invalid_signature',
        `The ${SIGNATURE_HEADER} header is not 64 hex characters (got ${typeof signature === 'string' ? signature.trim().length : 0} characters).`,
      );
    }
    throw new WebhookVerificationError(
      'invalid_signature',
      `Signature matches none of the ${secrets.length} configured secret(s). Check that the secret is the webhook secret from Ittybit, and that the body reaches this middleware unmodified (no JSON body parser before it, no proxy re-encoding it).`,
    );
  }

  function accept(bytes: Uint8Array): Payload<M> {
    const payload = read<M>(bytes);
    if (parseMetadata && payload.object !== 'unknown') {
      try {
        payload.metadata = parseMetadata(payload.metadata);
      } catch (error) {
        throw new WebhookPayloadError(
          `parseMetadata rejected the metadata: ${describeError(error)}`,
          'metadata',
        );
      }
    }
    if (maxAgeMs !== undefined) fresh(payload);
    return payload;
  }

  function fresh(payload: Payload<M>): void {
    const signedAt =
      payload.event?.createdAtMs ??
      (payload.object === 'unknown' ? undefined : payload.occurredAtMs);
    if (signedAt === undefined) {
      throw new WebhookPayloadError(
        'maxAgeMs is set but the payload has no timestamp (created_at, completed_at or finished_at).',
        'created_at',
      );
    }
    const age = Date.now() - signedAt;
    if (age > (maxAgeMs as number)) {
      throw new WebhookVerificationError(
        'stale_delivery',
        `Delivery of ${payload.event?.id ?? payload.id ?? ''} is ${Math.round(age / 1000)} s old, over maxAgeMs (${maxAgeMs} ms). Raise maxAgeMs if the sender's retries can take longer.`,
      );
    }
    if (-age > maxClockSkewMs) {
      throw new WebhookVerificationError(
        'stale_delivery',
        `Delivery of ${payload.event?.id ?? payload.id ?? ''} is stamped ${Math.round(-age / 1000)} s in the future, over maxClockSkewMs (${maxClockSkewMs} ms). Check this server's clock.`,
      );
    }
  }

  return (body, signature) => {
    const bytes = typeof body === 'string' ? toBytes(body) : body;
    const check = checkSignatureNow(bytes, signature, secrets);
    if (typeof check === 'string') {
      if (check !== 'valid') refuse(check, signature);
      return accept(bytes);
    }
    return check.then((result) => {
      if (result !== 'valid') refuse(result, signature);
      return accept(bytes);
    });
  };
}

/** {@link createSyncVerifier}, always answering with a promise (never throwing). */
export function createVerifier<M = Metadata>(
  secrets: readonly string[],
  options: Omit<VerifyOptions<M>, 'secret'>,
): Verifier<M> {
  const verifier = createSyncVerifier<M>(secrets, options);
  return (body, signature) => {
    try {
      return Promise.resolve(verifier(body, signature));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * Verifies one delivery without handlers or a store: the signature over the exact body bytes
 * (from `headers`, or the `Ittybit-Signature` value itself), then the payload. Returns the task,
 * run or unknown payload; throws {@link WebhookVerificationError} or {@link WebhookPayloadError}.
 *
 * ```ts
 * const payload = await verifyWebhook(rawBody, req.headers, { secret: process.env.ITTYBIT_WEBHOOK_SECRET });
 * ```
 */
export function verifyWebhook<M = Metadata>(
  body: BodyInput,
  headersOrSignature: HeadersInput | string | null | undefined,
  options: VerifyOptions<M>,
): Promise<Payload<M>> {
  const secrets = secretList(options?.secret);
  if (secrets.length === 0) {
    return Promise.reject(
      new WebhookError('invalid_options', 'verifyWebhook: `secret` is missing or empty.'),
    );
  }
  const signature =
    typeof headersOrSignature === 'string' || headersOrSignature == null
      ? headersOrSignature
      : headerOf(headersOrSignature, SIGNATURE_HEADER);
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    return Promise.reject(
      new WebhookPayloadError('The body must be the raw bytes (Uint8Array/Buffer) or a string.'),
    );
  }
  return createVerifier<M>(secrets, options)(body, signature);
}
