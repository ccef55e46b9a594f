import { hmacSha256, verifyHmacSha256 } from '#crypto';
import { fromHex64, toBytes, toHex } from './bytes.js';

/** The header Ittybit signs deliveries with (HTTP header names are case-insensitive). */
export const SIGNATURE_HEADER = 'ittybit-signature';

/** Why a signature header was not accepted; `valid` when it was. */
export type SignatureCheck = 'valid' | 'missing' | 'malformed' | 'mismatch';

/**
 * Parses an `Ittybit-Signature` value: 64 hex characters in either case, with an optional
 * `sha256=` prefix. Returns the 32 digest bytes, or `undefined` for anything else.
 */
export function parseSignatureHeader(value: string | null | undefined): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  let hex = value.trim();
  if (hex.slice(0, 7).toLowerCase() === 'sha256=') hex = hex.slice(7);
  return fromHex64(hex);
}

function secretList(secret: string | readonly string[]): string[] {
  return (typeof secret === 'string' ? [secret] : [...secret]).filter((s) => s.length > 0);
}

/**
 * Checks a signature header against the exact body bytes and says why it failed, if it did.
 * Every configured secret is tried (rotation), so timing does not tell which one matched.
 */
export async function checkSignature(
  body: Uint8Array | string,
  header: string | null | undefined,
  secret: string | readonly string[],
): Promise<SignatureCheck> {
  if (header === undefined || header === null || header.trim() === '') return 'missing';
  const digest = parseSignatureHeader(header);
  if (!digest) return 'malformed';
  const bytes = toBytes(body);
  let matched = false;
  for (const s of secretList(secret)) {
    if (await verifyHmacSha256(s, bytes, digest)) matched = true;
  }
  return matched ? 'valid' : 'mismatch';
}

/**
 * True when `header` is a valid HMAC-SHA256 of the exact `body` bytes under any of the secrets.
 * Never throws for a bad header: missing, empty, short, long or non-hex values give `false`.
 */
export async function verifySignature(
  body: Uint8Array | string,
  header: string | null | undefined,
  secret: string | readonly string[],
): Promise<boolean> {
  return (await checkSignature(body, header, secret)) === 'valid';
}

/** Lowercase hex HMAC-SHA256 of the exact body bytes: the value Ittybit puts in the header. */
export async function signPayload(body: Uint8Array | string, secret: string): Promise<string> {
  return toHex(await hmacSha256(secret, toBytes(body)));
}
