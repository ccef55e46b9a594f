const encoder = new TextEncoder();

/** Bytes of a body: a `Uint8Array` (Buffer included) as it is, a string as UTF-8. */
export function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

const HEX_64 = /^[0-9a-fA-F]{64}$/;

/** Decodes exactly 64 hex characters into 32 bytes; anything else gives `undefined`. */
export function fromHex64(hex: string): Uint8Array | undefined {
  if (!HEX_64.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
