import { describe, expect, it, vi } from 'vitest';
import {
  createReceiver,
  type IdempotencyStore,
  MemoryStore,
  type ReceiverOptions,
  type ReceiverResponse,
  signPayload,
  WebhookError,
  WebhookPayloadError,
  WebhookVerificationError,
} from '../src/index.js';
import { createTestEvent, createTestTask } from '../src/testing.js';
import {
  captureLogger,
  deferred,
  SECRET,
  signedBytes,
  signedRequest,
  sleep,
  unreachableStore,
} from './helpers.js';

function setup(overrides: Partial<ReceiverOptions> = {}) {
  const logger = captureLogger();
  const onSucceeded = vi.fn();
  const onFailed = vi.fn();
  const receiver = createReceiver({
    secret: SECRET,
    onSucceeded,
    onFailed,
    logger,
    ...overrides,
  });
  return { receiver, logger, onSucceeded, onFailed };
}

const bodyOf = (res: ReceiverResponse) => JSON.parse(res.body) as Record<string, unknown>;

describe('createReceiver: options', () => {
  it.each([
    [{ secret: undefined }, /secret.*missing or empty.*ITTYBIT_WEBHOOK_SECRET/],
    [{ secret: '' }, /secret/],
    [{ secret: [] }, /secret/],
    [{ secret: [''] }, /secret/],
    [{ onSucceeded: undefined }, /onFailed is given but onSucceeded is not/],
    [{ onFailed: undefined }, /onSucceeded is given but onFailed is not/],
    [{ onSucceeded: undefined, onFailed: undefined }, /no handler given/],
    [{ on: { 'task.succeeded': () => {} } }, /onSucceeded or on\['task.succeeded'\], not both/],
    [{ on: { 'run.succeeded': () => {} } }, /on\['run.failed'\] is not/],
    [{ idempotency: { leaseMs: 1000, timeoutMs: 500 } }, /leaseMs \(1000 ms\) must be at least 4/],
    [
      { maxAgeMs: 10_000, idempotency: { ttlMs: 5_000 } },
      /maxAgeMs.*larger than idempotency.ttlMs/,
    ],
    [{ maxBodyBytes: -1 }, /maxBodyBytes/],
    [{ respond: 'later' }, /respond/],
  ])('throws at creation for %j with a message that says what to set', (bad, message) => {
    const options = { secret: SECRET, onSucceeded() {}, onFailed() {}, ...bad };
    expect(() => createReceiver(options as ReceiverOptions)).toThrow(message);
    try {
      createReceiver(options as ReceiverOptions);
    } catch (error) {
      expect((error as WebhookError).code).toBe('invalid_options');
    }
  });
});

describe('the answer table (docs/design.md)', () => {
  it('200 {"received":true} for a delivered task, handler done before the answer', async () => {
    const { receiver, onSucceeded } = setup();
    const task = createTestTask({ metadata: { exportId: 'e_1' } });
    const res = await receiver.handle(await signedRequest(task));
    expect(res.status).toBe(200);
    expect(bodyOf(res)).toEqual({ received: true });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(onSucceeded).toHaveBeenCalledTimes(1);
    const [received, ctx] = onSucceeded.mock.calls[0]!;
    expect(received).toMatchObject({
      id: task.id,
      status: 'succeeded',
      metadata: { exportId: 'e_1' },
    });
    expect(ctx.signal).toBeInstanceOf(AbortSignal);
    expect(ctx.key).toBe(`${task.id}:succeeded`);
    expect(ctx.headers['ittybit-signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('routes failed to onFailed, cancelled to onCancelled or else onFailed', async () => {
    const onCancelled = vi.fn();
    const a = setup();
    const b = setup({ onCancelled });
    await a.receiver.handle(await signedRequest(createTestTask({ status: 'failed' })));
    await a.receiver.handle(await signedRequest(createTestTask({ status: 'cancelled' })));
    await b.receiver.handle(await signedRequest(createTestTask({ status: 'cancelled' })));
    expect(a.onFailed.mock.calls.map(([t]) => t.status)).toEqual(['failed', 'cancelled']);
    expect(a.onFailed.mock.calls[0]![0].error).toEqual({
      message: 'Input file could not be decoded',
    });
    expect(onCancelled).toHaveBeenCalledTimes(1);
    expect(b.onFailed).not.toHaveBeenCalled();
  });

  it.each(['GET', 'PUT', 'HEAD', ''])('405 with Allow: POST for method %j', async (method) => {
    const { receiver, onSucceeded } = setup();
    const res = await receiver.handle({ ...(await signedRequest()), method });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(onSucceeded).not.toHaveBeenCalled();
  });

  it('413 on Content-Length before reading the body', async () => {
    const { receiver, logger } = setup({ maxBodyBytes: 100 });
    const reader = vi.fn(async () => new Uint8Array());
    const res = await receiver.handle({
      method: 'POST',
      headers: { 'content-length': '101', 'ittybit-signature': 'x' },
      body: reader,
    });
    expect(res.status).toBe(413);
    expect(reader).not.toHaveBeenCalled();
    expect(logger.text()).toMatch(
      /413 payload_too_large: Content-Length 101 is over maxBodyBytes \(100\)/,
    );
  });

  it('413 when the body read is over the limit, and the reader is told the limit', async () => {
    const { receiver } = setup({ maxBodyBytes: 64 });
    const request = await signedRequest();
    const reader = vi.fn(async (max: number) => {
      expect(max).toBe(64);
      throw Object.assign(new Error('request entity too large'), { status: 413 });
    });
    expect((await receiver.handle({ ...request, body: reader })).status).toBe(413);
    expect((await receiver.handle(request)).status).toBe(413);
  });

  it('401 for a missing, malformed or wrong signature, same body, reason only in the log', async () => {
    const { receiver, logger, onSucceeded } = setup();
    const good = await signedRequest();
    const headers = good.headers as Record<string, string>;
    const variants = [
      { 'content-type': 'application/json' },
      { ...headers, 'ittybit-signature': 'abc' },
      { ...headers, 'ittybit-signature': await signPayload('other body', SECRET) },
    ];
    const bodies = new Set<string>();
    for (const h of variants) {
      const res = await receiver.handle({ ...good, headers: h });
      expect(res.status).toBe(401);
      bodies.add(res.body);
    }
    expect([...bodies]).toEqual(['{"error":"unauthorized"}']);
    expect(onSucceeded).not.toHaveBeenCalled();
    expect(logger.text()).toContain('No ittybit-signature header');
    expect(logger.text()).toContain('not 64 hex characters (got 3 characters)');
    expect(logger.text()).toContain('matches none of the 1 configured secret(s)');
    expect(logger.text()).not.toContain(SECRET);
  });

  it('400 for a signed body that is not JSON, not UTF-8, or not a task', async () => {
    const { receiver, logger, onSucceeded } = setup();
    const bodies: Uint8Array[] = [
      new TextEncoder().encode('not json'),
      new TextEncoder().encode('[1,2]'),
      new TextEncoder().encode('{"status":"succeeded"}'),
      new Uint8Array([0x7b, 0xff, 0x7d]),
      new Uint8Array(),
    ];
    for (const body of bodies) {
      const res = await receiver.handle(await signedBytes(body));
      expect(res.status).toBe(400);
      expect(bodyOf(res)).toEqual({ error: 'invalid_payload' });
    }
    expect(onSucceeded).not.toHaveBeenCalled();
    expect(logger.text()).toContain('Payload field "id" must be a non-empty string');
    expect(logger.text()).toContain('not valid UTF-8');
  });

  it('accepts a body with a UTF-8 BOM signed over its exact bytes', async () => {
    const { receiver, onSucceeded } = setup();
    const json = new TextEncoder().encode(
      JSON.stringify(createTestTask({ metadata: { t: 'ü😀' } })),
    );
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...json]);
    const res = await receiver.handle(await signedBytes(body));
    expect(res.status).toBe(200);
    expect(onSucceeded.mock.calls[0]![0].metadata).toEqual({ t: 'ü😀' });
  });

  it('reads a real U+FFFD as text and refuses a bad byte beside it, from any view of the bytes', async () => {
    const { receiver, onSucceeded } = setup();
    const json = new TextEncoder().encode(
      JSON.stringify(createTestTask({ metadata: { t: 'a�b' } })),
    );
    // The body as a view into a larger buffer (not a Buffer, not at offset 0).
    const backing = new Uint8Array(json.length + 8);
    backing.set(json, 5);
    const body = backing.subarray(5, 5 + json.length);
    const ok = await receiver.handle(await signedBytes(body));
    expect(ok.status).toBe(200);
    expect(onSucceeded.mock.calls[0]![0].metadata).toEqual({ t: 'a�b' });

    // The same body with one byte of the U+FFFD's encoding broken: not UTF-8, a 400.
    const broken = Uint8Array.from(json);
    broken[json.indexOf(0xbd)] = 0x41;
    const bad = await receiver.handle(await signedBytes(broken));
    expect(bad.status).toBe(400);
    expect(onSucceeded).toHaveBeenCalledTimes(1);
  });

  it('401 for a signed delivery older than maxAgeMs, only when the option is set', async () => {
    const old = createTestTask({ completed_at: Date.now() - 10 * 60_000 });
    const strict = setup({ maxAgeMs: 5 * 60_000 });
    const lax = setup();
    expect((await strict.receiver.handle(await signedRequest(old))).status).toBe(401);
    expect(strict.logger.text()).toMatch(/stale_delivery: Delivery of task_\w+ is 600 s old/);
    expect((await lax.receiver.handle(await signedRequest(old))).status).toBe(200);
    expect((await strict.receiver.handle(await signedRequest(createTestTask()))).status).toBe(200);
  });

  it('200 with a duplicate header for a completed task; the handler is not called again', async () => {
    const { receiver, onSucceeded } = setup();
    const request = await signedRequest();
    expect((await receiver.handle(request)).status).toBe(200);
    const again = await receiver.handle(request);
    expect(again.status).toBe(200);
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(bodyOf(again)).toEqual({ received: true, duplicate: true });
    expect(onSucceeded).toHaveBeenCalledTimes(1);
  });

  it('503 + Retry-After for a duplicate while the first is still running', async () => {
    const gate = deferred();
    const slow = vi.fn(() => gate.promise);
    const { receiver } = setup({ onSucceeded: slow });
    const request = await signedRequest();
    const first = receiver.handle(request);
    await sleep(10);
    const second = await receiver.handle(request);
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('5');
    expect(JSON.parse(second.body)).toEqual({ error: 'in_progress' });
    gate.resolve();
    expect((await first).status).toBe(200);
    expect(slow).toHaveBeenCalledTimes(1);
  });

  it('503 + Retry-After when the store is unreachable; nothing processed', async () => {
    const { receiver, onSucceeded, logger } = setup({
      idempotency: { store: unreachableStore() },
      retryAfterSeconds: 30,
    });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(bodyOf(res)).toEqual({ error: 'store_unavailable' });
    expect(onSucceeded).not.toHaveBeenCalled();
    expect(logger.text()).toContain('ECONNREFUSED');
  });

  it('503 when the store hangs past idempotency.timeoutMs', async () => {
    const hanging: IdempotencyStore = {
      acquire: () => new Promise(() => {}),
      complete: async () => true,
      release: async () => true,
      extend: async () => true,
    };
    const { receiver } = setup({ idempotency: { store: hanging, timeoutMs: 50 } });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(503);
  });

  it('500 with a generic body when the handler throws; the retry runs it again', async () => {
    let calls = 0;
    const onError = vi.fn();
    const { receiver, logger } = setup({
      onSucceeded: () => {
        calls += 1;
        if (calls === 1) throw new Error('s3 upload failed: secret-bucket-name');
      },
      onError,
    });
    const request = await signedRequest();
    const first = await receiver.handle(request);
    expect(first.status).toBe(500);
    expect(first.body).toBe('{"error":"handler_failed"}');
    expect(first.body).not.toContain('secret-bucket-name');
    expect(logger.text()).toContain('s3 upload failed');
    expect(onError).toHaveBeenCalledWith(
      expect.any(Error),
      expect.objectContaining({ phase: 'handler' }),
    );
    const retry = await receiver.handle(request);
    expect(retry.status).toBe(200);
    expect(calls).toBe(2);
    expect((await receiver.handle(request)).headers['ittybit-webhook-duplicate']).toBe('true');
  });

  it('500 body_consumed with the adapter message in the log; never re-serialises', async () => {
    const { receiver, logger } = setup();
    const res = await receiver.handle({
      method: 'POST',
      headers: { 'ittybit-signature': 'a'.repeat(64) },
      body: async () => {
        throw new WebhookError('body_consumed', 'Mount ittybitWebhook() before express.json().');
      },
    });
    expect(res.status).toBe(500);
    expect(bodyOf(res)).toEqual({ error: 'body_consumed' });
    expect(logger.text()).toContain('Mount ittybitWebhook() before express.json().');
  });

  it('200 for a non-terminal status: onUpdate if given, else acknowledged and ignored', async () => {
    const onUpdate = vi.fn();
    const without = setup();
    const withUpdate = setup({ onUpdate });
    for (const status of ['processing', 'queued', 'something_new']) {
      const request = await signedRequest(createTestTask({ status }));
      expect((await without.receiver.handle(request)).status).toBe(200);
      expect((await withUpdate.receiver.handle(request)).status).toBe(200);
    }
    expect(without.onSucceeded).not.toHaveBeenCalled();
    expect(without.onFailed).not.toHaveBeenCalled();
    expect(onUpdate.mock.calls.map(([t]) => [t.status, t.rawStatus])).toEqual([
      ['processing', 'processing'],
      ['queued', 'queued'],
      ['unknown', 'something_new'],
    ]);
    expect(withUpdate.logger.text()).toContain('status this library does not know (something_new)');
  });

  it('never echoes payloads, signatures or secrets in any answer body', async () => {
    const { receiver } = setup({ onSucceeded: () => Promise.reject(new Error('private detail')) });
    const request = await signedRequest(createTestTask({ metadata: { pii: 'alice@example.com' } }));
    const signature = (request.headers as Record<string, string>)['ittybit-signature']!;
    for (const variant of [
      request,
      { ...request, headers: { 'ittybit-signature': signature.replace(/./, '0') } },
      { ...request, method: 'GET' },
    ]) {
      const res = await receiver.handle(variant);
      for (const secretish of ['alice@example.com', signature, SECRET, 'private detail']) {
        expect(res.body).not.toContain(secretish);
      }
    }
  });
});

describe('idempotency', () => {
  it('runs onSucceeded exactly once for 50 concurrent deliveries of one task', async () => {
    let runs = 0;
    const { receiver } = setup({
      onSucceeded: async () => {
        runs += 1;
        await sleep(20);
      },
    });
    const request = await signedRequest();
    const answers = await Promise.all(Array.from({ length: 50 }, () => receiver.handle(request)));
    expect(runs).toBe(1);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 503)).toHaveLength(49);
    // The sender retries the 503s: every retry is now a duplicate, and nothing runs again.
    const retries = await Promise.all(Array.from({ length: 49 }, () => receiver.handle(request)));
    expect(retries.every((r) => r.status === 200 && r.headers['ittybit-webhook-duplicate'])).toBe(
      true,
    );
    expect(runs).toBe(1);
  });

  it('dedupes on task id + status: the failed and succeeded deliveries of one id both run', async () => {
    const { receiver, onSucceeded, onFailed } = setup();
    const task = createTestTask();
    await receiver.handle(await signedRequest({ ...task, status: 'failed', error: 'x' }));
    await receiver.handle(await signedRequest(task));
    expect(onFailed).toHaveBeenCalledTimes(1);
    expect(onSucceeded).toHaveBeenCalledTimes(1);
  });

  it('takes a custom key and can be turned off', async () => {
    const byId = setup({ idempotency: { key: (t) => t.id } });
    const off = setup({ idempotency: false });
    const task = createTestTask();
    for (const r of [byId, off]) {
      await r.receiver.handle(await signedRequest({ ...task, status: 'failed', error: 'x' }));
      await r.receiver.handle(await signedRequest(task));
      await r.receiver.handle(await signedRequest(task));
    }
    expect(byId.onFailed).toHaveBeenCalledTimes(1);
    expect(byId.onSucceeded).toHaveBeenCalledTimes(0);
    expect(off.onFailed).toHaveBeenCalledTimes(1);
    expect(off.onSucceeded).toHaveBeenCalledTimes(2);
  });

  it("gives a custom key the delivery's topic and event", async () => {
    const key = vi.fn((_payload: unknown, ctx: { topic?: string; event?: { id?: string } }) =>
      ctx.event?.id ? `${ctx.topic}/${ctx.event.id}` : undefined,
    );
    const { receiver, onSucceeded } = setup({ idempotency: { key } });
    const event = createTestEvent('task.succeeded', {}, { id: 'evt_key_1' });
    await receiver.handle(await signedRequest(event));
    await receiver.handle(await signedRequest(event));
    expect(key).toHaveBeenCalledTimes(2);
    expect(key.mock.calls[0]?.[1]).toMatchObject({
      topic: 'task.succeeded',
      event: { id: 'evt_key_1', topic: 'task.succeeded' },
    });
    expect(onSucceeded).toHaveBeenCalledTimes(1);
    expect(onSucceeded.mock.calls[0]?.[1].key).toBe('task.succeeded/evt_key_1');
  });

  it('does not let unsigned requests claim task ids', async () => {
    const store = new MemoryStore();
    const acquire = vi.spyOn(store, 'acquire');
    const { receiver } = setup({ idempotency: { store } });
    const task = createTestTask();
    await receiver.handle({
      method: 'POST',
      headers: { 'ittybit-signature': '0'.repeat(64) },
      body: JSON.stringify(task),
    });
    expect(acquire).not.toHaveBeenCalled();
    expect((await receiver.handle(await signedRequest(task))).status).toBe(200);
  });

  it('renews the lease while a slow handler runs, so no second run starts', async () => {
    const store = new MemoryStore();
    const extend = vi.spyOn(store, 'extend');
    const gate = deferred();
    let runs = 0;
    const { receiver } = setup({
      idempotency: { store, leaseMs: 90, timeoutMs: 10 },
      onSucceeded: async () => {
        runs += 1;
        await gate.promise;
      },
    });
    const request = await signedRequest();
    const first = receiver.handle(request);
    await sleep(250);
    expect((await receiver.handle(request)).status).toBe(503);
    expect(extend.mock.calls.length).toBeGreaterThanOrEqual(2);
    gate.resolve();
    expect((await first).status).toBe(200);
    expect(runs).toBe(1);
  });

  it('aborts ctx.signal when the lease is lost', async () => {
    const store = new MemoryStore();
    vi.spyOn(store, 'extend').mockResolvedValue(false);
    let signal: AbortSignal | undefined;
    const { receiver, logger } = setup({
      idempotency: { store, leaseMs: 60, timeoutMs: 10 },
      onSucceeded: async (_task, ctx) => {
        signal = ctx.signal;
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      },
    });
    const res = await receiver.handle(await signedRequest());
    expect(signal?.aborted).toBe(true);
    expect((signal!.reason as WebhookError).code).toBe('in_progress');
    // The attempt no longer owns the task: let the sender retry rather than claim success.
    expect(res.status).toBe(500);
    expect(logger.text()).toContain('Lost the lease');
  });

  it('retries a failed complete while the lease is held: a retry after the lease is a duplicate', async () => {
    const store = new MemoryStore();
    const realComplete = store.complete.bind(store);
    let failures = 1;
    const complete = vi.spyOn(store, 'complete').mockImplementation(async (...args) => {
      if (failures-- > 0) throw new Error('connection reset');
      return realComplete(...args);
    });
    const onError = vi.fn();
    const { receiver, onSucceeded } = setup({
      idempotency: { store, leaseMs: 300, timeoutMs: 50 },
      onError,
    });
    const request = await signedRequest();
    expect((await receiver.handle(request)).status).toBe(200);
    expect(complete).toHaveBeenCalledTimes(2);
    await sleep(400); // past the lease: had complete been given up, the retry would run again
    const again = await receiver.handle(request);
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(onSucceeded).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(
      expect.any(Error),
      expect.objectContaining({ phase: 'complete' }),
    );
  });

  it('answers 200 and logs when complete keeps failing until the lease runs out', async () => {
    const store = new MemoryStore();
    const complete = vi.spyOn(store, 'complete').mockRejectedValue(new Error('connection reset'));
    const { receiver, logger, onSucceeded } = setup({
      idempotency: { store, leaseMs: 200, timeoutMs: 50 },
    });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(200);
    expect(onSucceeded).toHaveBeenCalledTimes(1);
    expect(complete.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(logger.text()).toMatch(
      /could not mark it completed \(Error: connection reset\) within one lease/,
    );
  });
});

describe("respond: 'immediately'", () => {
  it('answers 200 before the handler finishes; drain() waits for it', async () => {
    const gate = deferred();
    let finished = false;
    const { receiver } = setup({
      respond: 'immediately',
      onSucceeded: async () => {
        await gate.promise;
        finished = true;
      },
    });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(200);
    expect(finished).toBe(false);
    const drained = receiver.drain();
    gate.resolve();
    await drained;
    expect(finished).toBe(true);
  });

  it('hands the background work to waitUntil (per request, else the option)', async () => {
    const perRequest = vi.fn();
    const fromOptions = vi.fn();
    const { receiver } = setup({ respond: 'immediately', waitUntil: fromOptions });
    await receiver.handle({ ...(await signedRequest()), waitUntil: perRequest });
    await receiver.handle(await signedRequest());
    expect(perRequest).toHaveBeenCalledWith(expect.any(Promise));
    expect(fromOptions).toHaveBeenCalledTimes(1);
    await receiver.drain();
  });

  it('reports a failing background handler to onError and releases the key for a retry', async () => {
    const onError = vi.fn();
    let calls = 0;
    const { receiver } = setup({
      respond: 'immediately',
      onError,
      onSucceeded: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
    });
    const request = await signedRequest();
    expect((await receiver.handle(request)).status).toBe(200);
    await receiver.drain();
    expect(onError).toHaveBeenCalledWith(
      expect.any(Error),
      expect.objectContaining({ phase: 'handler' }),
    );
    expect((await receiver.handle(request)).status).toBe(200);
    await receiver.drain();
    expect(calls).toBe(2);
  });
});

describe('verify()', () => {
  it('returns the parsed task for a good signature', async () => {
    const { receiver } = setup();
    const task = createTestTask();
    const body = JSON.stringify(task);
    const parsed = await receiver.verify(body, await signPayload(body, SECRET));
    expect(parsed.id).toBe(task.id);
  });

  it('throws WebhookVerificationError / WebhookPayloadError with stable codes', async () => {
    const { receiver } = setup();
    await expect(receiver.verify('{}', undefined)).rejects.toMatchObject({
      code: 'missing_signature',
    });
    await expect(receiver.verify('{}', 'nope')).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(receiver.verify('[]', await signPayload('[]', SECRET))).rejects.toBeInstanceOf(
      WebhookPayloadError,
    );
  });

  it('applies parseMetadata, turning its throw into invalid_payload on metadata', async () => {
    const { receiver } = setup({
      parseMetadata: (m) => {
        const value = m as { exportId?: unknown };
        if (typeof value.exportId !== 'string') throw new Error('exportId required');
        return { exportId: value.exportId };
      },
    });
    const good = JSON.stringify(createTestTask({ metadata: { exportId: 'e1', x: 1 } }));
    const task = await receiver.verify(good, await signPayload(good, SECRET));
    expect(task.object !== 'unknown' && task.metadata).toEqual({ exportId: 'e1' });
    const bad = JSON.stringify(createTestTask());
    await expect(receiver.verify(bad, await signPayload(bad, SECRET))).rejects.toMatchObject({
      code: 'invalid_payload',
      field: 'metadata',
    });
  });
});

describe('logger', () => {
  it('survives a throwing logger and goes silent with logger: false', async () => {
    const broken = {
      error() {
        throw new Error('x');
      },
      warn() {
        throw new Error('x');
      },
    };
    const a = createReceiver({ secret: SECRET, onSucceeded() {}, onFailed() {}, logger: broken });
    const b = createReceiver({ secret: SECRET, onSucceeded() {}, onFailed() {}, logger: false });
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect((await a.handle({ method: 'POST', headers: {}, body: '{}' })).status).toBe(401);
    expect((await b.handle({ method: 'POST', headers: {}, body: '{}' })).status).toBe(401);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('logger: pino', () => {
  it('writes its lines through a real pino logger', async () => {
    const { pino } = await import('pino');
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const receiver = createReceiver({ secret: SECRET, onSucceeded() {}, onFailed() {}, logger });
    expect((await receiver.handle({ method: 'POST', headers: {}, body: '{}' })).status).toBe(401);
    const entry = JSON.parse(lines[0]!);
    expect(entry.level).toBe(40);
    // A structured logger gets the fields as an object and the message as its own.
    expect(entry.msg).toMatch(/^401 missing_signature: No ittybit-signature header/);
    expect(entry).toMatchObject({
      lib: 'ittybit-webhooks',
      status: 401,
      code: 'missing_signature',
    });
  });
});

describe('store timeouts', () => {
  it('gives back a claim that lands after acquire timed out, so the retry is not blocked', async () => {
    // A remote store (MemoryStore itself is called without timeouts): its first claim is slow.
    const memory = new MemoryStore();
    let slow = true;
    const store: IdempotencyStore = {
      acquire: async (key, owner, lease) => {
        if (slow) {
          slow = false;
          await sleep(120); // past timeoutMs: the claim lands after the 503
        }
        return memory.acquire(key, owner, lease);
      },
      complete: (...args) => memory.complete(...args),
      release: (...args) => memory.release(...args),
      extend: (...args) => memory.extend(...args),
    };
    const { receiver, onSucceeded } = setup({ idempotency: { store, timeoutMs: 40 } });
    const request = await signedRequest();
    expect((await receiver.handle(request)).status).toBe(503);
    await sleep(150);
    expect((await receiver.handle(request)).status).toBe(200);
    expect(onSucceeded).toHaveBeenCalledTimes(1);
  });

  it('logs the busy-duplicate 503 at info level, not as an error', async () => {
    const gate = deferred();
    const { receiver, logger } = setup({ onSucceeded: () => gate.promise });
    const request = await signedRequest();
    const first = receiver.handle(request);
    await sleep(10);
    expect((await receiver.handle(request)).status).toBe(503);
    gate.resolve();
    await first;
    expect(logger.lines.filter((l) => l.includes('in_progress'))).toEqual([
      expect.stringMatching(/^info \[ittybit-webhooks\] 503 in_progress/),
    ]);
  });
});
