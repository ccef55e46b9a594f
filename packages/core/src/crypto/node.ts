// Node implementation of HMAC-SHA256, picked by the `node` condition of the `#crypto` import map.
// Synchronous under the hood: callers `await` the result, which costs nothing extra here.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 of `data` keyed with the UTF-8 bytes of `secret`. */
export function hmacSha256(secret: string, data: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve(new Uint8Array(createHmac('sha256', secret).update(data).digest()));
}

/** Constant-time check that `signature` (32 bytes) is the HMAC-SHA256 of `data` under `secret`. */
export function verifyHmacSha256(
  secret: string,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | Promise<boolean> {
  const expected = createHmac('sha256', secret).update(data).digest();
  // Both sides are 32 bytes by construction; timingSafeEqual throws on unequal lengths.
  return signature.length === expected.length && timingSafeEqual(expected, signature);
}
