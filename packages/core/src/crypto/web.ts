// Web Crypto implementation of HMAC-SHA256 for Deno, Bun, Cloudflare Workers, browsers and other
// runtimes without the `node` export condition. Each secret is imported as a CryptoKey once.

export { fromHex64 } from '../bytes.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text of `bytes` without a leading BOM, or a throw for bytes that are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  return strict.decode(bytes);
}

const pending = new Map<string, Promise<CryptoKey>>();
const ready = new Map<string, CryptoKey>();
const encoder = new TextEncoder();

function importKey(secret: string): Promise<CryptoKey> {
  let key = pending.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    key.then(
      (imported) => ready.set(secret, imported),
      // A failed import must not poison the cache for later calls.
      () => pending.delete(secret),
    );
    pending.set(secret, key);
  }
  return key;
}

// Web Crypto wants ArrayBuffer-backed views; copy only when the input is not one.
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

/** HMAC-SHA256 of `data` keyed with the UTF-8 bytes of `secret`. */
export async function hmacSha256(secret: string, data: Uint8Array): Promise<Uint8Array> {
  const key = ready.get(secret) ?? (await importKey(secret));
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, view(data)));
}

/** Constant-time check that `signature` (32 bytes) is the HMAC-SHA256 of `data` under `secret`. */
export function verifyHmacSha256(
  secret: string,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  // subtle.verify compares in constant time. A key imported before is used without waiting.
  const key = ready.get(secret);
  if (key) return crypto.subtle.verify('HMAC', key, view(signature), view(data));
  return importKey(secret).then((k) =>
    crypto.subtle.verify('HMAC', k, view(signature), view(data)),
  );
}
