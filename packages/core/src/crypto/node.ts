// Node implementation of HMAC-SHA256, picked by the `node` condition of the `#crypto` import map.
// Synchronous under the hood: callers may `await` the result, or use it as it is.
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

// Each secret becomes a KeyObject once: `createHmac` given a string encodes it and imports a key
// on every call, which measured about 6% of a 1 KB check. Bounded, in case a caller verifies
// with ever-new secrets.
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 64;

function keyOf(secret: string): KeyObject | string {
  let key = keys.get(secret);
  if (key === undefined) {
    // An empty key cannot be a KeyObject; the string form gives the same HMAC.
    if (secret === '') return secret;
    if (keys.size >= MAX_KEYS) keys.clear();
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

/**
 * Decodes exactly 64 hex characters of `text` from `start` into 32 bytes, or `undefined`.
 * `Buffer.from` stops at the first character that is not hex, so 32 bytes out means 64 hex
 * characters in; the bytes come from Node's Buffer pool instead of an allocation of their own.
 */
export function fromHex64(text: string, start = 0): Uint8Array | undefined {
  if (text.length - start !== 64) return undefined;
  const bytes = Buffer.from(start === 0 ? text : text.slice(start), 'hex');
  return bytes.length === 32 ? bytes : undefined;
}

const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The UTF-8 text of `bytes` without a leading BOM, or a throw for bytes that are not UTF-8.
 * Buffer's decoder is the fast one but replaces bad bytes with U+FFFD, so text holding U+FFFD
 * (never in text that is all Latin-1, where the search ends at once) is decoded again strictly.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = (
    Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  ).toString('utf8');
  if (text.indexOf('\uFFFD') !== -1) return strict.decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** HMAC-SHA256 of `data` keyed with the UTF-8 bytes of `secret`. */
export function hmacSha256(secret: string, data: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve(new Uint8Array(createHmac('sha256', keyOf(secret)).update(data).digest()));
}

/** Constant-time check that `signature` (32 bytes) is the HMAC-SHA256 of `data` under `secret`. */
export function verifyHmacSha256(
  secret: string,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | Promise<boolean> {
  const expected = createHmac('sha256', keyOf(secret)).update(data).digest();
  // Both sides are 32 bytes by construction; timingSafeEqual throws on unequal lengths.
  return signature.length === expected.length && timingSafeEqual(expected, signature);
}
