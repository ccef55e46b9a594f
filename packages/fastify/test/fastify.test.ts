import { createReceiver, type HandlerContext, type SucceededTask } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH, ittybitWebhook } from '../src/index.js';
import { memoryLogger, postChunked, repeatChunk, SECRET } from './helpers.js';

const PATH = '/webhooks/ittybit';

type Call = { status: string; id: string; request: FastifyRequest | undefined };

/** An app with the plugin and two sibling routes that rely on Fastify's own parsers. */
function buildApp(extra: Record<string, unknown> = {}) {
  const calls: Call[] = [];
  const logger = memoryLogger();
  const app = Fastify();
  const record = (task: { id: string; status: string }, ctx: HandlerContext<FastifyRequest>) => {
    calls.push({ id: task.id, status: task.status, request: ctx.request });
  };
  app.register(ittybitWebhook, {
    path: PATH,
    secret: SECRET,
    logger,
    onSucceeded: record,
    onFailed: record,
    ...extra,
  });
  app.post('/json', async (request) => ({ got: request.body }));
  app.post('/text', async (request) => ({ type: typeof request.body, got: request.body }));
  return { app, calls, logger };
}

async function post(app: FastifyInstance, body: string, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: PATH, payload: body, headers });
}

describe('Fastify plugin (inject)', () => {
  const { app, calls, logger } = buildApp({ maxBodyBytes: 4096 });
  beforeAll(() => app.ready());
  afterAll(() => app.close());

  it('answers 200 to a signed delivery and calls onSucceeded with the task and request', async () => {
    const task = createTestTask({ metadata: { exportId: 'e1' } });
    const { body, headers } = await createTestDelivery(task, SECRET);
    const response = await post(app, body, headers);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: true });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const call = calls.find((c) => c.id === task.id);
    expect(call?.status).toBe('succeeded');
    expect(call?.request?.url).toBe(PATH);
  });

  it('routes failed tasks to onFailed', async () => {
    const task = createTestTask({ status: 'failed' });
    const { body, headers } = await createTestDelivery(task, SECRET);
    const response = await post(app, body, headers);
    expect(response.statusCode).toBe(200);
    expect(calls.find((c) => c.id === task.id)?.status).toBe('failed');
  });

  it('verifies the exact bytes: pretty-printed JSON with a BOM and unicode passes', async () => {
    const task = createTestTask({ metadata: { title: 'Café 😀' } });
    const body = `\uFEFF${JSON.stringify(task, null, 2)}\n`;
    const response = await post(app, body, {
      'content-type': 'application/json; charset=utf-8',
      'ittybit-signature': await signPayload(body, SECRET),
    });
    expect(response.statusCode).toBe(200);
    expect(calls.some((c) => c.id === task.id)).toBe(true);
  });

  it('takes any content type, and none, as raw bytes', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const task = createTestTask();
      const { body, headers } = await createTestDelivery(task, SECRET);
      const sent = { ...headers } as Record<string, string>;
      if (contentType) sent['content-type'] = contentType;
      else delete sent['content-type'];
      const response = await post(app, body, sent);
      expect(response.statusCode, String(contentType)).toBe(200);
      expect(calls.some((c) => c.id === task.id)).toBe(true);
    }
  });

  it('answers 401 to a wrong or missing signature without calling a handler', async () => {
    const task = createTestTask();
    const { body } = await createTestDelivery(task, 'another_secret');
    const wrong = await post(app, body, {
      'content-type': 'application/json',
      'ittybit-signature': await signPayload(body, 'another_secret'),
    });
    const missing = await post(app, body, { 'content-type': 'application/json' });
    for (const response of [wrong, missing]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'unauthorized' });
    }
    expect(calls.some((c) => c.id === task.id)).toBe(false);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    const body = '{"id": "task_1", "status": ';
    const response = await post(app, body, {
      'content-type': 'application/json',
      'ittybit-signature': await signPayload(body, SECRET),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_payload' });
  });

  it('answers 413 with the core JSON body when Content-Length is over maxBodyBytes', async () => {
    const task = createTestTask({ metadata: { pad: 'x'.repeat(5000) } });
    const { body, headers } = await createTestDelivery(task, SECRET);
    const response = await post(app, body, headers);
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: 'payload_too_large' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(calls.some((c) => c.id === task.id)).toBe(false);
    expect(logger.lines.some((l) => l.includes('413 payload_too_large'))).toBe(true);
  });

  it('answers 405 with Allow: POST to other methods on the path', async () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'] as const) {
      const response = await app.inject({ method, url: PATH });
      expect(response.statusCode, method).toBe(405);
      expect(response.headers.allow).toBe('POST');
      if (method !== 'HEAD') expect(response.json()).toEqual({ error: 'method_not_allowed' });
    }
  });

  it('answers a duplicate with 200 and the duplicate header, without calling the handler', async () => {
    const task = createTestTask();
    const { body, headers } = await createTestDelivery(task, SECRET);
    const first = await post(app, body, headers);
    const second = await post(app, body, headers);
    expect(first.statusCode).toBe(200);
    expect(first.headers['ittybit-webhook-duplicate']).toBeUndefined();
    expect(second.statusCode).toBe(200);
    expect(second.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(second.json()).toEqual({ received: true, duplicate: true });
    expect(calls.filter((c) => c.id === task.id)).toHaveLength(1);
  });

  it('leaves sibling routes with Fastify parsers: JSON is parsed, text stays text', async () => {
    const json = await app.inject({ method: 'POST', url: '/json', payload: { a: [1, 2] } });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({ got: { a: [1, 2] } });
    const text = await app.inject({
      method: 'POST',
      url: '/text',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.json()).toEqual({ type: 'string', got: 'hello' });
    const unknown = await app.inject({
      method: 'POST',
      url: '/json',
      payload: 'x',
      headers: { 'content-type': 'application/x-unknown' },
    });
    expect(unknown.statusCode).toBe(415);
  });

  it('mounts at /webhooks/ittybit by default', () => {
    expect(DEFAULT_PATH).toBe(PATH);
  });
});

describe('Fastify plugin options and errors', () => {
  it('uses the default path and the plugin prefix', async () => {
    const app = Fastify();
    try {
      app.register(ittybitWebhook, {
        secret: SECRET,
        logger: false,
        onSucceeded: () => {},
        onFailed: () => {},
      });
      app.register(ittybitWebhook, {
        prefix: '/v2',
        path: '/hook',
        secret: SECRET,
        logger: false,
        onSucceeded: () => {},
        onFailed: () => {},
      });
      const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
      for (const url of [DEFAULT_PATH, '/v2/hook']) {
        const response = await app.inject({ method: 'POST', url, payload: body, headers });
        expect(response.statusCode, url).toBe(200);
      }
    } finally {
      await app.close();
    }
  });

  it('shares a ready receiver given as { path, receiver }', async () => {
    const seen: string[] = [];
    const receiver = createReceiver<{ exportId: string }, FastifyRequest>({
      secret: [SECRET, 'old_secret'],
      logger: false,
      onSucceeded: (task: SucceededTask<{ exportId: string }>) => {
        seen.push(task.metadata.exportId);
      },
      onFailed: () => {},
    });
    const app = Fastify();
    try {
      app.register(ittybitWebhook, { path: '/a', receiver });
      app.register(ittybitWebhook, { path: '/b', receiver });
      const task = createTestTask({ metadata: { exportId: 'exp_7' } });
      const { body } = await createTestDelivery(task, 'old_secret');
      const headers = {
        'content-type': 'application/json',
        'ittybit-signature': await signPayload(body, 'old_secret'),
      };
      const a = await app.inject({ method: 'POST', url: '/a', payload: body, headers });
      const b = await app.inject({ method: 'POST', url: '/b', payload: body, headers });
      expect(a.statusCode).toBe(200);
      // One receiver, one idempotency store: the second route sees a duplicate.
      expect(b.headers['ittybit-webhook-duplicate']).toBe('true');
      expect(seen).toEqual(['exp_7']);
    } finally {
      await app.close();
    }
  });

  it('fails to start with a clear error when the secret is missing', async () => {
    const app = Fastify();
    app.register(ittybitWebhook, {
      path: PATH,
      secret: undefined,
      onSucceeded: () => {},
      onFailed: () => {},
    });
    await expect(app.ready()).rejects.toThrow(/secret.*missing/);
    await app.close();
  });

  it('answers 500 handler_failed when the handler throws, and runs it again on the retry', async () => {
    let attempts = 0;
    const { app } = buildApp({
      logger: false,
      onSucceeded: () => {
        attempts += 1;
        if (attempts === 1) throw new Error('database is down (secret detail)');
      },
    });
    try {
      const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
      const first = await post(app, body, headers);
      expect(first.statusCode).toBe(500);
      expect(first.json()).toEqual({ error: 'handler_failed' });
      expect(first.body).not.toContain('secret detail');
      const retry = await post(app, body, headers);
      expect(retry.statusCode).toBe(200);
      expect(attempts).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('answers body_consumed and logs how to mount it when a hook replaced request.body', async () => {
    const { app, calls, logger } = buildApp();
    // An app-wide hook that turns the raw bytes into an object: the bytes are gone.
    app.addHook('preValidation', async (request) => {
      if (Buffer.isBuffer(request.body)) request.body = JSON.parse(request.body.toString('utf8'));
    });
    try {
      const task = createTestTask();
      const { body, headers } = await createTestDelivery(task, SECRET);
      const response = await post(app, body, headers);
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({ error: 'body_consumed' });
      expect(calls).toHaveLength(0);
      const line = logger.lines.find((l) => l.includes('body_consumed'));
      expect(line).toMatch(/^error /);
      expect(line).toContain('app.register(ittybitWebhook, { path, ... })');
    } finally {
      await app.close();
    }
  });

  it("hands errors other than 413 to the app's own error handler", async () => {
    const { app } = buildApp({ logger: false });
    app.setErrorHandler((error: Error, _request, reply) => {
      reply.code(418).send({ handledBy: 'app', message: error.message });
    });
    app.addHook('onRequest', async (request) => {
      if (request.headers['x-block']) throw new Error('blocked by the app');
    });
    try {
      const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
      const response = await post(app, body, { ...headers, 'x-block': '1' });
      expect(response.statusCode).toBe(418);
      expect(response.json()).toEqual({ handledBy: 'app', message: 'blocked by the app' });
    } finally {
      await app.close();
    }
  });

  it("with respond: 'immediately', answers first and app.close() waits for the handler", async () => {
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { app } = buildApp({
      logger: false,
      respond: 'immediately',
      onSucceeded: async () => {
        events.push('handler started');
        await gate;
        events.push('handler done');
      },
    });
    const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
    const response = await post(app, body, headers);
    expect(response.statusCode).toBe(200);
    expect(events).toEqual(['handler started']);
    const closed = app.close().then(() => events.push('closed'));
    setTimeout(release, 20);
    await closed;
    expect(events).toEqual(['handler started', 'handler done', 'closed']);
  });
});

describe('Fastify plugin on a listening server', () => {
  const { app, calls } = buildApp({ maxBodyBytes: 64 * 1024, logger: false });
  let base = '';
  beforeAll(async () => {
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('answers a signed delivery over HTTP with 200', async () => {
    const task = createTestTask();
    const { body, headers } = await createTestDelivery(task, SECRET);
    const response = await fetch(`${base}${PATH}`, { method: 'POST', body, headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    expect(calls.some((c) => c.id === task.id)).toBe(true);
  });

  it('answers 413 with the core body to a chunked body with no Content-Length, mid-stream', async () => {
    const { headers } = await createTestDelivery(createTestTask(), SECRET);
    const chunk = new Uint8Array(16 * 1024).fill(0x20);
    const maxChunks = 1000; // 16 MiB if the server never stopped us
    const answer = await postChunked(`${base}${PATH}`, headers, repeatChunk(chunk, maxChunks));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'payload_too_large' });
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.chunksWritten).toBeLessThan(maxChunks);
  });

  it('still parses JSON for a sibling route over HTTP', async () => {
    const response = await fetch(`${base}/json`, {
      method: 'POST',
      body: JSON.stringify({ ok: true }),
      headers: { 'content-type': 'application/json' },
    });
    expect(await response.json()).toEqual({ got: { ok: true } });
  });
});
