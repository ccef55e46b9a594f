// What is Fastify's own: the plugin's encapsulation (sibling routes keep their parsers, hooks and
// not-found handler; the endpoint keeps its own parser whatever the app's), the app's hooks
// around a delivery, a Content-Type Fastify refuses before parsing, prefixes, a shared receiver,
// app.inject, app.close, an Express body parser through @fastify/middie in front of it and the
// fix its body_consumed line names, and handler types inferred without a type argument. The answers themselves are the conformance suite's
// (packages/conformance).

import type { IncomingMessage, ServerResponse } from 'node:http';
import middie from '@fastify/middie';
import type { HandlerContext, ReceiverOptions, Run, SucceededTask } from '@ittybit-webhooks/core';
import { createReceiver } from '@ittybit-webhooks/core';
import {
  createTestDelivery,
  createTestEvent,
  createTestTask,
} from '@ittybit-webhooks/core/testing';
import express from 'express';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { DEFAULT_PATH, ittybitWebhook } from '../src/index.js';
import { memoryLogger, SECRET } from './helpers.js';

const PATH = '/webhooks/ittybit';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A Fastify app closed after the test. */
function app(): FastifyInstance {
  const instance = Fastify();
  apps.push(instance);
  return instance;
}

/** Options whose handlers record the ids they got. */
function recording(
  overrides: Partial<ReceiverOptions<Record<string, unknown>, FastifyRequest>> = {},
) {
  const seen: string[] = [];
  const logger = memoryLogger();
  const options: ReceiverOptions<Record<string, unknown>, FastifyRequest> = {
    secret: SECRET,
    logger,
    onSucceeded: (task) => {
      seen.push(task.id);
    },
    onFailed: () => {},
    ...overrides,
  };
  return { seen, logger, options };
}

async function signed(task = createTestTask()) {
  return { task, ...(await createTestDelivery(task, SECRET)) };
}

describe('Fastify plugin', () => {
  it('infers the handler types without a type argument (task, run, ctx.request)', async () => {
    const seen: string[] = [];
    const fastify = app();
    fastify.register(
      ittybitWebhook({
        secret: SECRET,
        logger: false,
        onSucceeded: (task, ctx) => {
          expectTypeOf(task).toEqualTypeOf<SucceededTask>();
          expectTypeOf(ctx).toEqualTypeOf<HandlerContext<FastifyRequest>>();
          seen.push(`${task.id} ${ctx.request?.routeOptions.url}`);
        },
        onFailed: (task) => {
          expectTypeOf(task.status).toEqualTypeOf<'failed' | 'cancelled'>();
        },
        on: {
          'run.succeeded': (run) => {
            expectTypeOf(run).toEqualTypeOf<Run>();
            seen.push(run.id);
          },
          'run.failed': () => {},
        },
      }),
    );
    const { task, body, headers } = await signed();
    const event = createTestEvent('run.succeeded');
    const run = await createTestDelivery(event, SECRET);

    const answers = [
      await fastify.inject({ method: 'POST', url: PATH, payload: body, headers }),
      await fastify.inject({ method: 'POST', url: PATH, payload: run.body, headers: run.headers }),
    ];

    expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
    expect(seen).toEqual([`${task.id} ${PATH}`, event.data.id]);
  });

  it('works under app.inject (no server), every method included', async () => {
    const { seen, options } = recording();
    const fastify = app();
    fastify.register(ittybitWebhook(options));
    const { task, body, headers } = await signed();

    const ok = await fastify.inject({ method: 'POST', url: DEFAULT_PATH, payload: body, headers });
    const propfind = await fastify.inject({ method: 'PROPFIND', url: DEFAULT_PATH });

    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ received: true });
    expect(seen).toEqual([task.id]);
    expect([propfind.statusCode, propfind.headers.allow]).toEqual([405, 'POST']);
  });

  it("hands an error while writing the answer to the app's error handler: a 500, not a hung request", async () => {
    const { seen, options } = recording();
    const fastify = app();
    // Another hook leaves this request's reply broken: its first `type()` call throws.
    fastify.addHook('onRequest', (_request, reply, done) => {
      const type = reply.type;
      let broken = true;
      reply.type = function (this: typeof reply, ...args: Parameters<typeof type>) {
        if (broken) {
          broken = false;
          throw new Error('reply broken by another hook');
        }
        return type.apply(this, args);
      };
      done();
    });
    fastify.register(ittybitWebhook(options, { path: PATH }));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { address, port } = fastify.server.address() as { address: string; port: number };
    const { task, body, headers } = await signed();

    const response = await fetch(`http://${address}:${port}${PATH}`, {
      method: 'POST',
      body,
      headers,
    });

    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ message: 'reply broken by another hook' });
    expect(seen).toEqual([task.id]);
  });

  it('leaves sibling routes as they were: parsers, 415s, not-found handler, methods', async () => {
    const { options } = recording();
    const fastify = app();
    fastify.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ appNotFound: `${request.method} ${request.url}` });
    });
    fastify.register(ittybitWebhook(options, { path: PATH }));
    fastify.post('/json', async (request) => ({ got: request.body }));
    fastify.post('/text', async (request) => ({ type: typeof request.body, got: request.body }));
    fastify.all('/all', async (request) => ({ method: request.method }));

    const json = await fastify.inject({ method: 'POST', url: '/json', payload: { a: [1, 2] } });
    const text = await fastify.inject({
      method: 'POST',
      url: '/text',
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    const odd = await fastify.inject({
      method: 'POST',
      url: '/json',
      payload: 'x',
      headers: { 'content-type': 'json' },
    });
    const propfind = await fastify.inject({ method: 'PROPFIND', url: '/all' });
    const missing = await fastify.inject({ method: 'GET', url: '/nowhere' });

    expect(json.json()).toEqual({ got: { a: [1, 2] } });
    expect(text.json()).toEqual({ type: 'string', got: 'hello' });
    expect(odd.statusCode).toBe(415);
    expect(propfind.json()).toEqual({ appNotFound: 'PROPFIND /all' });
    expect(missing.json()).toEqual({ appNotFound: 'GET /nowhere' });
  });

  it("answers paths below its own with Fastify's default 404", async () => {
    const fastify = app();
    fastify.register(ittybitWebhook(recording().options, { path: PATH }));

    for (const method of ['POST', 'PROPFIND'] as const) {
      const below = await fastify.inject({ method, url: `${PATH}/deeper` });
      expect(below.statusCode).toBe(404);
      expect(below.json()).toEqual({
        message: `Route ${method}:${PATH}/deeper not found`,
        error: 'Not Found',
        statusCode: 404,
      });
    }
  });

  it("runs the app's onRequest hooks first, and their errors reach the app's error handler", async () => {
    const { seen, options } = recording();
    const fastify = app();
    fastify.setErrorHandler((error: Error, _request, reply) => {
      reply.code(418).send({ handledBy: 'app', message: error.message });
    });
    fastify.addHook('onRequest', async (request) => {
      if (request.headers['x-block']) throw new Error('blocked by the app');
    });
    fastify.register(ittybitWebhook(options, { path: PATH }));
    const { task, body, headers } = await signed();

    const blocked = await fastify.inject({
      method: 'POST',
      url: PATH,
      payload: body,
      headers: { ...headers, 'x-block': '1' },
    });
    const passed = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });

    expect(blocked.statusCode).toBe(418);
    expect(blocked.json()).toEqual({ handledBy: 'app', message: 'blocked by the app' });
    expect(passed.statusCode).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it('reads the exact bytes with its own parser, whatever parsers and hooks the app has', async () => {
    const { seen, options } = recording();
    const fastify = app();
    const hooks: string[] = [];
    // An app-wide JSON parser that would lose the exact bytes, and app-wide hooks.
    fastify.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      (_request, body, done) => done(null, { reparsed: JSON.parse(body as string) }),
    );
    fastify.addHook('preParsing', async (request) => {
      hooks.push(`preParsing ${request.url}`);
    });
    fastify.addHook('preHandler', async (request) => {
      hooks.push(`preHandler ${request.url}`);
    });
    fastify.register(ittybitWebhook(options, { path: PATH }));
    fastify.post('/json', async (request) => request.body);
    const task = createTestTask();
    // Pretty-printed: parsed and serialised again, these bytes would no longer match the signature.
    const { body, headers } = await createTestDelivery(JSON.stringify(task, null, 2), SECRET);

    const delivered = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });
    const sibling = await fastify.inject({ method: 'POST', url: '/json', payload: { a: 1 } });

    expect(delivered.statusCode).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(sibling.json()).toEqual({ reparsed: { a: 1 } });
    expect(hooks).toEqual([
      `preParsing ${PATH}`,
      `preHandler ${PATH}`,
      'preParsing /json',
      'preHandler /json',
    ]);
  });

  it("answers a malformed Content-Type as a delivery, not with Fastify's 415", async () => {
    const { seen, options } = recording();
    const fastify = app();
    const appErrors: string[] = [];
    fastify.setErrorHandler((error: Error, _request, reply) => {
      appErrors.push(error.message);
      reply.code(415).send({ handledBy: 'app' });
    });
    fastify.register(ittybitWebhook(options, { path: PATH }));
    fastify.post('/json', async (request) => request.body);
    const { task, body, headers } = await signed();

    const delivered = await fastify.inject({
      method: 'POST',
      url: PATH,
      payload: body,
      headers: { ...headers, 'content-type': 'json' },
    });
    const sibling = await fastify.inject({
      method: 'POST',
      url: '/json',
      payload: body,
      headers: { 'content-type': 'json' },
    });

    expect([delivered.statusCode, delivered.json()]).toEqual([200, { received: true }]);
    expect(seen).toEqual([task.id]);
    expect([sibling.statusCode, sibling.json()]).toEqual([415, { handledBy: 'app' }]);
    expect(appErrors).toHaveLength(1);
  });

  it('mounts at its path inside the prefix it is registered with', async () => {
    const fastify = app();
    fastify.register(ittybitWebhook(recording().options, { path: '/hook' }), { prefix: '/v2' });
    const { body, headers } = await signed();

    const ok = await fastify.inject({ method: 'POST', url: '/v2/hook', payload: body, headers });
    const get = await fastify.inject({ method: 'GET', url: '/v2/hook' });
    const purge = await fastify.inject({ method: 'PURGE', url: '/v2/hook' });
    const outside = await fastify.inject({ method: 'POST', url: '/hook', payload: body, headers });

    expect([ok.statusCode, get.statusCode, purge.statusCode]).toEqual([200, 405, 405]);
    expect(outside.statusCode).toBe(404);
  });

  it('shares one ready receiver between two paths (one store: the second is a duplicate)', async () => {
    const seen: string[] = [];
    const receiver = createReceiver<{ exportId: string }, FastifyRequest>({
      secret: SECRET,
      logger: false,
      onSucceeded: (task) => {
        seen.push(task.metadata.exportId);
      },
      onFailed: () => {},
    });
    const fastify = app();
    fastify.register(ittybitWebhook(receiver, { path: '/a' }));
    fastify.register(ittybitWebhook(receiver, { path: '/b' }));
    const { body, headers } = await signed(createTestTask({ metadata: { exportId: 'exp_7' } }));

    const a = await fastify.inject({ method: 'POST', url: '/a', payload: body, headers });
    const b = await fastify.inject({ method: 'POST', url: '/b', payload: body, headers });

    expect(a.statusCode).toBe(200);
    expect(b.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(seen).toEqual(['exp_7']);
  });

  it('refuses a missing secret when the plugin is made, before the app starts', () => {
    expect(() =>
      ittybitWebhook({ secret: undefined, onSucceeded: () => {}, onFailed: () => {} }),
    ).toThrow(/secret.*missing/);
  });

  it("with respond: 'immediately', answers first and app.close() waits for the handler", async () => {
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fastify = Fastify();
    fastify.register(
      ittybitWebhook({
        secret: SECRET,
        logger: false,
        respond: 'immediately',
        onSucceeded: async () => {
          events.push('handler started');
          await gate;
          events.push('handler done');
        },
        onFailed: () => {},
      }),
    );
    const { body, headers } = await signed();

    const response = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });

    expect(response.statusCode).toBe(200);
    expect(events).toEqual(['handler started']);
    const closed = fastify.close().then(() => events.push('closed'));
    setTimeout(release, 20);
    await closed;
    expect(events).toEqual(['handler started', 'handler done', 'closed']);
  });
});

describe('an Express body parser in front, through @fastify/middie', () => {
  /** An Express middleware as middie takes it. */
  type Middleware = (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void;
  const json = (options?: Parameters<typeof express.json>[0]) =>
    express.json(options) as unknown as Middleware;

  async function withMiddie(parser: Middleware, where: 'app' | 'sibling') {
    const recorded = recording();
    const fastify = app();
    await fastify.register(middie);
    if (where === 'app') fastify.use(parser);
    else {
      // The parser in a sibling context: it runs for that plugin's routes only.
      await fastify.register(async (api) => {
        api.use(parser);
        // Its routes take the body the Express parser left (Fastify's own would wait forever).
        api.removeAllContentTypeParsers();
        api.addContentTypeParser('*', (request, _payload, done) => {
          done(null, (request.raw as { body?: unknown }).body);
        });
        api.post('/api/echo', async (request) => ({ got: request.body }));
      });
    }
    fastify.register(ittybitWebhook(recorded.options, { path: PATH }));
    return { fastify, ...recorded };
  }

  it('app-wide express.json(): 500 body_consumed, the log line naming both fixes', async () => {
    const { fastify, seen, logger } = await withMiddie(json(), 'app');
    const { body, headers } = await signed();

    const answer = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });

    expect(answer.statusCode).toBe(500);
    expect(answer.json()).toEqual({ error: 'body_consumed' });
    expect(seen).toEqual([]);
    const logged = logger.lines.filter((line) => line.includes('body_consumed'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('register it in a sibling plugin');
    expect(logged[0]).toContain('verify: (req, _res, buf) => { req.rawBody = buf; }');
  });

  it('fix 1 works: its verify hook keeps req.rawBody', async () => {
    const verify = (req: IncomingMessage, _res: ServerResponse, buf: Buffer) => {
      (req as unknown as { rawBody?: Buffer }).rawBody = buf;
    };
    const { fastify, seen } = await withMiddie(json({ verify }), 'app');
    // Pretty-printed: re-serialising the parsed body would not give the signed bytes back.
    const task = createTestTask({ metadata: { title: 'Café 😀' } });
    const { body, headers } = await createTestDelivery(JSON.stringify(task, null, 2), SECRET);

    const answer = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });

    expect(answer.statusCode).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it('fix 2 works: the parser in a sibling plugin, which still parses its own routes', async () => {
    const { fastify, seen } = await withMiddie(json(), 'sibling');
    const { task, body, headers } = await signed();

    const answer = await fastify.inject({ method: 'POST', url: PATH, payload: body, headers });
    const echo = await fastify.inject({ method: 'POST', url: '/api/echo', payload: { a: 1 } });

    expect(answer.statusCode).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(echo.json()).toEqual({ got: { a: 1 } });
  });
});

describe("Fastify's request logger", () => {
  it('logs through request.log (with its reqId) when the options name no logger', async () => {
    const lines: Record<string, unknown>[] = [];
    const instance = Fastify({
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    });
    apps.push(instance);
    await instance.register(
      ittybitWebhook({ secret: SECRET, onSucceeded() {}, onFailed() {} }, { path: PATH }),
    );
    const { body } = await signed();
    const res = await instance.inject({
      method: 'POST',
      url: PATH,
      payload: body,
      headers: { 'content-type': 'application/json', 'ittybit-signature': '0'.repeat(64) },
    });
    expect(res.statusCode).toBe(401);
    const line = lines.find((l) => l.code === 'invalid_signature');
    expect(line).toMatchObject({ lib: 'ittybit-webhooks', status: 401, level: 40 });
    expect(line?.reqId).toBeTruthy();
    expect(String(line?.msg)).toMatch(/^401 invalid_signature: Signature matches none/);
  });

  it("keeps core's console default when the app has no logger", async () => {
    const instance = app();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await instance.register(
        ittybitWebhook({ secret: SECRET, onSucceeded() {}, onFailed() {} }, { path: PATH }),
      );
      await instance.inject({ method: 'POST', url: PATH, payload: '{}' });
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
        /\[ittybit-webhooks\] 401 missing_signature/,
      );
    } finally {
      warn.mockRestore();
    }
  });
});
