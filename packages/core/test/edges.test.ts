// The edges of the options, the hooks and the sinks: every creation error a user can hit says
// what to fix, and no hook, logger or sink that misbehaves changes an answer.
import { describe, expect, it, vi } from 'vitest';
import {
  createReceiver,
  type IdempotencyStore,
  MemoryDeadLetters,
  MemoryStore,
  type ReceiverOptions,
  verifyWebhook,
} from '../src/index.js';
import { createTestEvent, createTestTask } from '../src/testing.js';
import { captureLogger, SECRET, signedRequest, sleep } from './helpers.js';

const base = { secret: SECRET, onSucceeded() {}, onFailed() {} };

describe('creation errors', () => {
  it.each([
    [null, /pass an options object/],
    [{ ...base, on: 'x' }, /`on` must be an object/],
    [{ ...base, onUpdate: 'x' }, /`onUpdate` must be a function/],
    [
      { ...base, onFailed: undefined, on: { 'task.failed': () => {} }, onSucceeded: () => {} },
      null,
    ],
    [{ ...base, onFailed: undefined, on: { 'task.failed': () => {} }, onUnknown: 1 }, /onUnknown/],
    [{ ...base, idempotency: { key: 'id' } }, /idempotency.key must be a function/],
    [{ ...base, idempotency: { ttlMs: 0 } }, /idempotency.ttlMs must be a positive number/],
    [{ ...base, deadLetters: {} }, /deadLetters must have put/],
    [{ ...base, telemetry: {} }, /telemetry must have start/],
    [{ ...base, waitUntil: 'x' }, /waitUntil must be a function/],
    [{ ...base, bodyTimeoutMs: Number.NaN }, /bodyTimeoutMs/],
    [{ secret: SECRET, on: { 'run.failed': () => {} } }, /on\['run.succeeded'\] is not/],
  ])('%j', (options, message) => {
    const create = () => createReceiver(options as unknown as ReceiverOptions);
    if (message === null) expect(create).not.toThrow();
    else expect(create).toThrow(message);
  });

  it('accepts maxAgeMs above ttlMs when deduplication is off', () => {
    expect(() => createReceiver({ ...base, idempotency: false, maxAgeMs: 1e12 })).not.toThrow();
  });
});

describe('verifyWebhook edges', () => {
  it('refuses a missing secret and a body that is not bytes, and reads a signed body', async () => {
    await expect(verifyWebhook('{}', 'x', { secret: '' })).rejects.toMatchObject({
      code: 'invalid_options',
    });
    await expect(verifyWebhook(42 as never, 'x', { secret: SECRET })).rejects.toMatchObject({
      code: 'invalid_payload',
    });
    const request = await signedRequest(createTestTask());
    const headers = request.headers as Record<string, string>;
    const task = await verifyWebhook(request.body as Uint8Array, headers, {
      secret: SECRET,
      maxAgeMs: 60_000,
      parseMetadata: (m) => m as Record<string, unknown>,
    });
    expect(task.object).toBe('task');
  });

  it('400 under maxAgeMs for a payload without any time, and for a signed body that is not UTF-8', async () => {
    const receiver = createReceiver({ ...base, maxAgeMs: 60_000, logger: false });
    const timeless = { id: 'task_1', status: 'succeeded' };
    expect((await receiver.handle(await signedRequest(timeless))).status).toBe(400);
    const bytes = new Uint8Array([0x7b, 0xff, 0x7d]);
    const { signPayload } = await import('../src/index.js');
    const res = await receiver.handle({
      method: 'POST',
      headers: { 'ittybit-signature': await signPayload(bytes, SECRET) },
      body: bytes,
    });
    expect(res.status).toBe(400);
  });
});

describe('hooks that misbehave never change the answer', () => {
  it('a throwing telemetry start, onError and waitUntil', async () => {
    const logger = captureLogger();
    const receiver = createReceiver({
      ...base,
      logger,
      respond: 'immediately',
      onSucceeded: () => {
        throw new Error('handler');
      },
      onError: () => {
        throw new Error('hook');
      },
      waitUntil: () => {
        throw new Error('no runtime');
      },
      telemetry: {
        start: () => {
          throw new Error('probe');
        },
      },
    });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(200);
    await receiver.drain();
    expect(logger.text()).toMatch(/telemetry start threw: Error: probe/);
    expect(logger.text()).toMatch(/waitUntil threw \(Error: no runtime\)/);
    expect(logger.text()).toMatch(/onError threw: Error: hook/);
  });

  it('a telemetry end that throws is logged', async () => {
    const logger = captureLogger();
    const receiver = createReceiver({
      ...base,
      logger,
      telemetry: {
        start: () => ({
          handler: (run) => run(),
          end: () => {
            throw new Error('end');
          },
        }),
      },
    });
    expect((await receiver.handle(await signedRequest())).status).toBe(200);
    expect(logger.text()).toMatch(/telemetry end threw: Error: end/);
  });

  it('a dead-letter sink that fails or hangs is logged; the answers stay', async () => {
    const logger = captureLogger();
    const broken = {
      put: async () => {
        throw new Error('disk full');
      },
      clear: () => new Promise<void>(() => {}),
      list: async () => [],
      get: async () => undefined,
    };
    let fail = true;
    const receiver = createReceiver({
      ...base,
      logger,
      deadLetters: broken,
      idempotency: { timeoutMs: 30, leaseMs: 200 },
      onSucceeded: () => {
        if (fail) {
          fail = false;
          throw new Error('x');
        }
      },
    });
    const request = await signedRequest();
    expect((await receiver.handle(request)).status).toBe(500);
    expect((await receiver.handle(request)).status).toBe(200);
    expect(logger.text()).toMatch(/Could not keep the failed delivery .* Error: disk full/);
    expect(logger.text()).toMatch(
      /Could not clear the dead letter .*did not answer clear within 30 ms/,
    );
  });

  it('an unexpected error inside the pipeline is a 500 internal_error reported to onError', async () => {
    const onError = vi.fn();
    const receiver = createReceiver({
      ...base,
      logger: false,
      onError,
      idempotency: {
        key: () => {
          throw new Error('bad key function');
        },
      },
    });
    const res = await receiver.handle(await signedRequest());
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal_error' });
    expect(onError).toHaveBeenCalledWith(expect.any(Error), { phase: 'internal' });
  });
});

describe('MemoryDeadLetters', () => {
  it('keeps the newest maxEntries, lists them and forgets cleared ones', async () => {
    const letters = new MemoryDeadLetters({ maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) {
      await letters.put({ key, body: new Uint8Array(), headers: {}, error: 'x', failedAt: 1 });
    }
    // Newest failure first, as the Redis and PostgreSQL sinks list them.
    expect((await letters.list()).map((l) => l.key)).toEqual(['c', 'b']);
    expect((await letters.list({ limit: 1 })).map((l) => l.key)).toEqual(['c']);
    await letters.put({ key: 'b', body: new Uint8Array(), headers: {}, error: 'x', failedAt: 2 });
    expect((await letters.list()).map((l) => l.key)).toEqual(['b', 'c']);
    await letters.clear('b');
    expect(await letters.get('b')).toBeUndefined();
    expect(letters.size).toBe(1);
  });
});

describe('store calls that go wrong', () => {
  it('a release that fails is logged; the retry waits for the lease', async () => {
    const memory = new MemoryStore();
    const store: IdempotencyStore = {
      acquire: (...a) => memory.acquire(...a),
      complete: (...a) => memory.complete(...a),
      extend: (...a) => memory.extend(...a),
      release: async () => {
        throw new Error('connection reset');
      },
    };
    const logger = captureLogger();
    const receiver = createReceiver({
      ...base,
      logger,
      idempotency: { store, leaseMs: 120, timeoutMs: 30 },
      onSucceeded: () => {
        throw new Error('x');
      },
    });
    const request = await signedRequest(createTestEvent('task.succeeded'));
    expect((await receiver.handle(request)).status).toBe(500);
    expect(logger.text()).toMatch(/Could not release evt_\w+ \(Error: connection reset\)/);
    expect((await receiver.handle(request)).status).toBe(503);
    await sleep(150);
    expect((await receiver.handle(request)).status).toBe(500);
  });
});
