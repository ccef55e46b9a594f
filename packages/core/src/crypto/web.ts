// Web Crypto implementation of HMAC-SHA256 for Deno, Bun, Cloudflare Workers, browsers and other
// runtimes without the `node` export condition. Each secret is imported as a CryptoKey once.

const keys = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    // A failed import must not poison the cache for later calls.
    key.catch(() => keys.delete(secret));
    keys.set(secret, key);
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
  const mac = await crypto.subtle.sign('HMAC', await keyFor(secret), view(data));
  return new Uint8Array(mac);
}

/** Constant-time check that `signature` (32 bytes) is the HMAC-SHA256 of `data` under `secret`. */
export async function verifyHmacSha256(
  secret: string,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  // subtle.verify compares in constant time.
  return crypto.subtle.verify('HMAC', await keyFor(secret), view(signature), view(data));
}
