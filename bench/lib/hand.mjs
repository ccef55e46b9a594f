// The floor every comparison is made against: what a hand-written webhook route does, and no
// more. HMAC-SHA256 over the raw bytes, a constant-time compare, JSON.parse, and (for the dedup
// comparisons) a bounded Map of event ids: 10,000 keys, the oldest dropped first, like the
// MemoryStore's default bound.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `(body: Buffer, signature: string) => parsed JSON`, or `undefined` when the signature is wrong. */
export function handVerify(secret) {
  return (body, signature) => {
    if (typeof signature !== 'string') return undefined;
    const expected = createHmac('sha256', secret).update(body).digest();
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return JSON.parse(body.toString('utf8'));
  };
}

/**
 * A hand-written receive: verify, parse, and with `dedup` skip an event id seen before. Returns
 * `'ok'`, `'duplicate'`, `'unauthorized'` or `'invalid'`; `fresh()` counts the `'ok'` ones.
 */
export function handReceiver(secret, { dedup = true, maxKeys = 10_000 } = {}) {
  const verify = handVerify(secret);
  const seen = new Map();
  let fresh = 0;
  return {
    receive(body, signature) {
      let event;
      try {
        event = verify(body, signature);
      } catch {
        return 'invalid';
      }
      if (event === undefined) return 'unauthorized';
      if (dedup) {
        const id = event.id;
        if (seen.has(id)) return 'duplicate';
        seen.set(id, true);
        if (seen.size > maxKeys) seen.delete(seen.keys().next().value);
      }
      fresh += 1;
      return 'ok';
    },
    fresh: () => fresh,
    size: () => seen.size,
  };
}
