import { fromHex64, hmacSha256, verifyHmacSha256 } from '#crypto';
import { toBytes, toHex } from './bytes.js';

/** The header Ittybit signs deliveries with (HTTP header names are case-insensitive). */
export const SIGNATURE_HEADER = 'ittybit-signature';

/** Why a signature header was not accepted; `valid` when it was. */
export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

/**
 * Parses an `Ittybit-Signature` value: 64 hex characters in either case, with an optional
 * `sha256=` prefix and surrounding spaces. Returns the 32 digest bytes, or `undefined` for
 * anything else (any other type included).
 */
export function parseSignatureHeader(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  // Fast path: the sender's exact form, 64 lowercase hex characters.
  if (value.length === 64) return fromHex64(value);
  const hex = value.trim();
  const start = hex.length === 71 && hex.slice(0, 7).toLowerCase() === 'sha256=' ? 7 : 0;
  return fromHex64(hex, start);
}

/** Non-empty string secrets, from one secret or a list (rotation). */
export function secretList(secret: unknown): string[] {
  const list = typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : [];
  return list.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

function isBody(body: unknown): body is Uint8Array | string {
  return typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * Checks a signature header against the exact body bytes with secrets already listed by
 * {@link secretList}, and says why it failed, if it did. Every secret is tried (rotation), so
 * timing does not tell which one matched. Never throws: a body that is neither bytes nor a
 * string is a `mismatch`. Answers at once where the HMAC is synchronous (`node:crypto`), and
 * with a promise where it is not (Web Crypto).
 */
export function checkSignatureNow(
  body: unknown,
  header: unknown,
  secrets: readonly string[],
): SignatureCheck | Promise<SignatureCheck> {
  if (typeof header !== 'string') return 'missing';
  const digest = parseSignatureHeader(header);
  if (!digest) return header.trim() === '' ? 'missing' : 'malformed';
  if (!isBody(body) || secrets.length === 0) return 'mismatch';
  const bytes = toBytes(body);
  if (secrets.length === 1) {
    const valid = verifyHmacSha256(secrets[0] as string, bytes, digest);
    if (typeof valid === 'boolean') return valid ? 'valid' : 'mismatch';
    return valid.then((ok) => (ok ? 'valid' : 'mismatch'));
  }
  const results = secrets.map((s) => verifyHmacSha256(s, bytes, digest));
  if (results.every((r) => typeof r === 'boolean')) {
    return results.includes(true) ? 'valid' : 'mismatch';
  }
  return Promise.all(results).then((all) => (all.includes(true) ? 'valid' : 'mismatch'));
}

/** {@link checkSignatureNow}, always as a promise. */
export async function checkSignatureWith(
  body: unknown,
  header: unknown,
  secrets: readonly string[],
): Promise<SignatureCheck> {
  return checkSignatureNow(body, header, secrets);
}

/**
 * Checks a signature header against the exact body bytes and says why it failed, if it did.
 * Never throws, whatever the types of its arguments.
 */
export function checkSignature(
  body: Uint8Array | string,
  header: string | null | undefined,
  secret: string | readonly string[],
): Promise<SignatureCheck> {
  return checkSignatureWith(body, header, secretList(secret));
}

/**
 * True when `header` is a valid HMAC-SHA256 of the exact `body` bytes under any of the secrets.
 * Never throws: a missing, empty, short, long or non-hex header, or a body or secret of the
 * wrong type, gives `false`.
 */
export async function verifySignature(
  body: Uint8Array | string,
  header: string | null | undefined,
  secret: string | readonly string[],
): Promise<boolean> {
  return (await checkSignatureWith(body, header, secretList(secret))) === 'valid';
}

/** Lowercase hex HMAC-SHA256 of the exact body bytes: the value Ittybit puts in the header. */
export async function signPayload(body: Uint8Array | string, secret: string): Promise<string> {
  return toHex(await hmacSha256(secret, toBytes(body)));
}
