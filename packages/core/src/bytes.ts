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

// Value of each hex digit by char code, -1 for anything else.
const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUES[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUES[65 + i] = 10 + i;
  HEX_VALUES[97 + i] = 10 + i;
}

function hexValue(code: number): number {
  return code < 128 ? (HEX_VALUES[code] as number) : -1;
}

/**
 * Decodes exactly 64 hex characters starting at `start` of `text` into 32 bytes; anything else
 * (another length, a non-hex character) gives `undefined`.
 */
export function fromHex64(text: string, start = 0): Uint8Array | undefined {
  if (text.length - start !== 64) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const hi = hexValue(text.charCodeAt(start + 2 * i));
    const lo = hexValue(text.charCodeAt(start + 2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}
