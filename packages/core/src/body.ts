import { toBytes } from './bytes.js';
import { describeError, isWebhookError, WebhookError, WebhookPayloadError } from './errors.js';
import { type HeadersInput, headerOf } from './headers.js';
import type { BodyInput } from './verify.js';

/**
 * Reads the body lazily, so the receiver can refuse on method and `Content-Length` first. It
 * must stop past `maxBytes` with a `payload_too_large` {@link WebhookError}, give up after
 * `receiver.options.bodyTimeoutMs` with a `body_timeout` one, and throw `body_consumed` (with a
 * message saying how to mount the middleware) when another body parser already took the stream.
 * `declaredLength` is the request's `Content-Length` as the receiver read it (`undefined` when
 * there is none), so the reader need not look it up again.
 */
export type BodyReader = (maxBytes: number, declaredLength?: string) => Promise<BodyInput>;

/**
 * The method and size checks, then the exact bytes of a body already read: refused on
 * `Content-Length` before they are counted, and counted again. Throws a {@link WebhookError} for
 * each refusal.
 */
export function bodyBytes(
  method: unknown,
  headers: HeadersInput,
  input: BodyInput | null | undefined,
  maxBodyBytes: number,
): Uint8Array {
  checked(method, headers, maxBodyBytes);
  return counted(input ?? '', maxBodyBytes);
}

/**
 * The same checks for a body still to be read, then its bytes handed to `next`: refused on
 * `Content-Length` before any byte is read, and counted again once read. Throws a
 * {@link WebhookError} for a refusal before reading; answers a promise of `next`'s result.
 */
export function readBody<T>(
  method: unknown,
  headers: HeadersInput,
  reader: BodyReader,
  maxBodyBytes: number,
  next: (bytes: Uint8Array) => T | Promise<T>,
): Promise<T> {
  return readFrom(reader, maxBodyBytes, checked(method, headers, maxBodyBytes), next);
}

/** Refuses a method other than POST and a `Content-Length` over the limit; answers the latter. */
function checked(method: unknown, headers: HeadersInput, maxBodyBytes: number): string | undefined {
  if (method !== 'POST' && (typeof method !== 'string' || method.toUpperCase() !== 'POST')) {
    throw new WebhookError(
      'method_not_allowed',
      `Method ${String(method)} is not allowed; Ittybit delivers with POST.`,
    );
  }
  const declared = headerOf(headers, 'content-length');
  if (declared !== undefined && Number(declared) > maxBodyBytes) {
    throw new WebhookError(
      'payload_too_large',
      `Content-Length ${declared} is over maxBodyBytes (${maxBodyBytes}).`,
    );
  }
  return declared;
}

function readFrom<T>(
  input: BodyReader,
  maxBodyBytes: number,
  declared: string | undefined,
  next: (bytes: Uint8Array) => T | Promise<T>,
): Promise<T> {
  let reading: Promise<BodyInput>;
  try {
    reading = Promise.resolve(input(maxBodyBytes, declared));
  } catch (error) {
    reading = Promise.reject(error);
  }
  // `next` runs in the same reaction as the read (one promise hop less); what it throws is its
  // own refusal, not a read error, so it is not mapped below.
  return reading.then(
    (body) => next(counted(body, maxBodyBytes)),
    (error: unknown) => {
      if (isWebhookError(error)) throw error;
      const status =
        (error as { status?: unknown } | undefined)?.status ??
        (error as { statusCode?: unknown } | undefined)?.statusCode;
      if (status === 413) {
        throw new WebhookError('payload_too_large', `Body is over maxBodyBytes (${maxBodyBytes}).`);
      }
      throw new WebhookPayloadError(`Could not read the request body: ${describeError(error)}`);
    },
  );
}

function counted(body: BodyInput, maxBodyBytes: number): Uint8Array {
  const bytes = toBytes(body);
  if (bytes.length > maxBodyBytes) {
    throw new WebhookError(
      'payload_too_large',
      `Body of ${bytes.length} bytes is over maxBodyBytes (${maxBodyBytes}).`,
    );
  }
  return bytes;
}
