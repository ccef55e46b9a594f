import * as nodeCrypto from 'node:crypto';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, oneShotHmacInUse, verifyHmacSha256 } from '../src/crypto/node.js';

// The Node implementation signs small bodies with two one-shot hashes (RFC 2104 spelled out) and
// larger ones with createHmac: both must be HMAC-SHA256 for every secret and body length.
const SECRET_LENGTHS = [0, 1, 4, 28, 63, 64, 65, 131];
const BODY_LENGTHS = [0, 1, 55, 56, 64, 1024, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100_000];

const reference = (secret: string, body: Uint8Array) =>
  createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest();

describe('node:crypto HMAC-SHA256', () => {
  it('takes the one-shot path wherever node:crypto has crypto.hash (Node 20.12 and later)', () => {
    expect(oneShotHmacInUse).toBe(typeof (nodeCrypto as { hash?: unknown }).hash === 'function');
  });

  it("gives RFC 4231's test vector, and a key longer than the block is hashed first", async () => {
    const jefe = await hmacSha256('Jefe', Buffer.from('what do ya want for nothing?'));
    expect(Buffer.from(jefe).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    // A key longer than the 64-byte block is hashed first (RFC 4231's test case 6 has one, but
    // its 0xaa bytes are no UTF-8 string a secret could be): checked against createHmac.
    const long = 'k'.repeat(131);
    const data = Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First');
    expect(Buffer.from(await hmacSha256(long, data))).toEqual(reference(long, data));
  });

  it('matches createHmac for every secret and body length, signing and verifying', async () => {
    for (const secretLength of SECRET_LENGTHS) {
      // Multi-byte characters: the key is the secret's UTF-8 bytes.
      const secret = 'é'.repeat(Math.floor(secretLength / 2)) + 's'.repeat(secretLength % 2);
      for (const bodyLength of BODY_LENGTHS) {
        const body = randomBytes(bodyLength);
        const expected = reference(secret, body);
        expect(Buffer.from(await hmacSha256(secret, body))).toEqual(expected);
        expect(verifyHmacSha256(secret, body, expected)).toBe(true);
        const wrong = Buffer.from(expected);
        wrong[31] = (wrong[31] as number) ^ 1;
        expect(verifyHmacSha256(secret, body, wrong)).toBe(false);
      }
    }
  });

  it('keeps each call apart: a large body, then a small one, then other secrets in turn', async () => {
    const big = randomBytes(16 * 1024);
    const small = Buffer.from('{"id":"evt_1"}');
    // A view into a larger buffer, as a framework's pooled Buffer can be.
    const view = new Uint8Array(randomBytes(4096).buffer, 100, 500);
    for (const [secret, body] of [
      ['a', big],
      ['b', small],
      ['a', small],
      ['c', view],
      ['b', big],
    ] as const) {
      expect(Buffer.from(await hmacSha256(secret, body))).toEqual(reference(secret, body));
    }
  });
});
