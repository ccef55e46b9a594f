// Runs twice: once with `#crypto` = node:crypto and once with Web Crypto (see vitest.workspace.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSignature,
  parseSignatureHeader,
  signPayload,
  verifySignature,
} from '../src/index.js';

const SECRET = 'test_secret';
const vectors: Array<[string, Uint8Array, string]> = [
  [
    'empty body',
    new Uint8Array(),
    'f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd',
  ],
  [
    'compact JSON',
    new TextEncoder().encode('{"obj1":"hello","obj2":"world"}'),
    'bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363',
  ],
  [
    'U+1F600 as UTF-8',
    new Uint8Array([0xf0, 0x9f, 0x98, 0x80]),
    '837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43',
  ],
];

describe('known-answer vectors (docs/sender.md)', () => {
  it.each(vectors)('signs %s exactly as the sender does', async (_name, body, expected) => {
    expect(await signPayload(body, SECRET)).toBe(expected);
  });

  it.each(vectors)('accepts the sender signature for %s', async (_name, body, signature) => {
    expect(await verifySignature(body, signature, SECRET)).toBe(true);
  });

  it('takes a string body as its UTF-8 bytes', async () => {
    expect(await verifySignature('\u{1F600}', vectors[2]![2], SECRET)).toBe(true);
    expect(await verifySignature('{"obj1":"hello","obj2":"world"}', vectors[1]![2], SECRET)).toBe(
      true,
    );
  });
});

describe('header forms', () => {
  const body = '{"obj1":"hello","obj2":"world"}';
  const sig = vectors[1]![2];

  it('accepts upper-case hex, mixed case, a sha256= prefix and surrounding spaces', async () => {
    for (const header of [
      sig.toUpperCase(),
      sig.slice(0, 32).toUpperCase() + sig.slice(32),
      `sha256=${sig}`,
      `SHA256=${sig.toUpperCase()}`,
      `  ${sig}  `,
    ]) {
      expect(await verifySignature(body, header, SECRET), header).toBe(true);
    }
  });

  it('gives a clean false, never a throw, for missing, empty, short, long and non-hex values', async () => {
    const cases: Array<[string | null | undefined, string]> = [
      [undefined, 'missing'],
      [null, 'missing'],
      ['', 'missing'],
      ['   ', 'missing'],
      [sig.slice(0, 63), 'malformed'],
      [`${sig}0`, 'malformed'],
      [`${sig}${sig}`, 'malformed'],
      [`${sig.slice(0, 63)}g`, 'malformed'],
      [`${sig.slice(0, 20)}x${sig.slice(21)}`, 'malformed'],
      [`${sig.slice(0, 30)}é${sig.slice(31)}`, 'malformed'],
      ['sha256=', 'malformed'],
      [`sha1=${sig}`, 'malformed'],
      [`sha256=sha256=${sig}`, 'malformed'],
      ['z'.repeat(64), 'malformed'],
      ['0'.repeat(64), 'mismatch'],
    ];
    for (const [header, why] of cases) {
      await expect(checkSignature(body, header, SECRET)).resolves.toBe(why);
      await expect(verifySignature(body, header, SECRET)).resolves.toBe(false);
    }
  });

  it('parses only exactly 64 hex characters', () => {
    expect(parseSignatureHeader(sig)).toHaveLength(32);
    expect(parseSignatureHeader(sig.slice(2))).toBeUndefined();
    expect(parseSignatureHeader(undefined)).toBeUndefined();
  });
});

describe('exact bytes', () => {
  it('verifies a body with a BOM only against the bytes that include the BOM', async () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')]);
    const header = await signPayload(withBom, SECRET);
    expect(await verifySignature(withBom, header, SECRET)).toBe(true);
    expect(await verifySignature('{"a":1}', header, SECRET)).toBe(false);
  });

  it('verifies invalid UTF-8 against its exact bytes (no decode and re-encode)', async () => {
    const invalid = new Uint8Array([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d]);
    const header = await signPayload(invalid, SECRET);
    expect(await verifySignature(invalid, header, SECRET)).toBe(true);
    // Decoding replaces the bad bytes with U+FFFD: that string is a different message.
    const lossy = new TextDecoder().decode(invalid);
    expect(await verifySignature(lossy, header, SECRET)).toBe(false);
  });

  it('tells compact JSON from the same JSON re-serialised with spaces', async () => {
    const sent = '{"id": "task_1", "status": "succeeded"}';
    const header = await signPayload(sent, SECRET);
    expect(await verifySignature(JSON.stringify(JSON.parse(sent)), header, SECRET)).toBe(false);
  });

  it('works on a Buffer and on a view into a larger buffer', async () => {
    const bytes = new TextEncoder().encode('xx{"obj1":"hello","obj2":"world"}yy');
    const view = bytes.subarray(2, bytes.length - 2);
    expect(await verifySignature(view, vectors[1]![2], SECRET)).toBe(true);
    expect(await verifySignature(Buffer.from(view), vectors[1]![2], SECRET)).toBe(true);
  });
});

describe('secret rotation', () => {
  it('accepts a signature from any configured secret and none from others', async () => {
    const body = '{"id":"task_1","status":"succeeded"}';
    const oldSig = await signPayload(body, 'old_secret');
    const newSig = await signPayload(body, 'new_secret');
    const secrets = ['new_secret', 'old_secret'];
    expect(await verifySignature(body, oldSig, secrets)).toBe(true);
    expect(await verifySignature(body, newSig, secrets)).toBe(true);
    expect(await verifySignature(body, await signPayload(body, 'other'), secrets)).toBe(false);
    expect(await verifySignature(body, oldSig, [])).toBe(false);
  });
});

describe('properties', () => {
  it('accepts every body with its own signature, in any hex case, with or without prefix', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.boolean(),
        fc.boolean(),
        async (body, secret, upper, prefix) => {
          let header = await signPayload(body, secret);
          if (upper) header = header.toUpperCase();
          if (prefix) header = `sha256=${header}`;
          return verifySignature(body, header, secret);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never accepts a changed body, a changed signature or another secret, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.nat(255),
        async (body, at, delta) => {
          const header = await signPayload(body, SECRET);
          const changed = Uint8Array.from(body);
          const i = at % changed.length;
          changed[i] = (changed[i]! + 1 + (delta % 255)) % 256;
          const flipped =
            header.slice(0, i % 64) +
            ((Number.parseInt(header[i % 64]!, 16) + 1) % 16).toString(16) +
            header.slice((i % 64) + 1);
          const results = await Promise.all([
            verifySignature(changed, header, SECRET),
            verifySignature(body, flipped, SECRET),
            verifySignature(body, header, `${SECRET}x`),
          ]);
          return results.every((r) => r === false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers false, never throws, for arbitrary header strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.uint8Array(), async (header, body) => {
        return (await verifySignature(body, header, SECRET)) === false;
      }),
      { numRuns: 300 },
    );
  });
});
