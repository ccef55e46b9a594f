import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReceiver, signPayload } from '../src/index.js';
import { createTestTask } from '../src/testing.js';
import { SECRET } from './helpers.js';

const header = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 80 }),
  fc.stringMatching(/^(sha256=)?[0-9a-fA-F]{64}$/),
  fc.array(fc.stringMatching(/^[0-9a-f]{64}$/), { minLength: 1, maxLength: 3 }),
);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.string({ maxLength: 1000 }),
  fc.json().map((j) => j),
  fc
    .record({ id: fc.string(), status: fc.constantFrom('succeeded', 'failed', 'queued') })
    .map((t) => JSON.stringify(createTestTask(t))),
);
const method = fc.constantFrom('POST', 'GET', 'post', 'PUT', 'DELETE');

describe('handle() on arbitrary requests', () => {
  it('never runs a handler without a valid signature, and never throws', async () => {
    let runs = 0;
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: () => {
        runs += 1;
      },
      onFailed: () => {
        runs += 1;
      },
      onUpdate: () => {
        runs += 1;
      },
      logger: false,
    });
    await fc.assert(
      fc.asyncProperty(method, body, header, fc.string(), async (m, b, sig, extraHeader) => {
        const res = await receiver.handle({
          method: m,
          headers: { 'ittybit-signature': sig, 'x-extra': extraHeader },
          body: b,
        });
        expect([401, 405]).toContain(res.status);
        expect(() => JSON.parse(res.body)).not.toThrow();
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(0);
  });

  it('answers every signed body with 200 or 400, and runs a handler only for tasks', async () => {
    const ran: string[] = [];
    const receiver = createReceiver({
      secret: [SECRET, 'second_secret'],
      onSucceeded: (t) => {
        ran.push(t.id);
      },
      onFailed: (t) => {
        ran.push(t.id);
      },
      logger: false,
      idempotency: false,
    });
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(SECRET, 'second_secret'), async (b, secret) => {
        const res = await receiver.handle({
          method: 'POST',
          headers: { 'ittybit-signature': await signPayload(b, secret) },
          body: b,
        });
        expect([200, 400]).toContain(res.status);
      }),
      { numRuns: 300 },
    );
    for (const id of ran) expect(typeof id === 'string' && id.length > 0).toBe(true);
  });
});
