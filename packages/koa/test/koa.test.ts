// What is Koa's own: mounting (@koa/router, app.use with path), @koa/bodyparser in front of the
// webhook (the text it keeps, and the fixes the body_consumed line names), and the handler
// types. The answers themselves are the conformance suite's (packages/conformance).
import type { HandlerContext, ReceiverOptions, SucceededTask } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import Koa2 from 'koa2';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { captureLogger, delivery, listen, post, type Running, SECRET } from './helpers.js';

const PATH = '/webhooks/ittybit';

/** Options whose handler records the task ids it got, with a captured logger. */
function recording(overrides: Partial<ReceiverOptions<Record<string, unknown>, Context>> = {}) {
  const seen: string[] = [];
  const logger = captureLogger();
  const options: ReceiverOptions<Record<string, unknown>, Context> = {
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

const servers: Running[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function start(app: Koa): Promise<string> {
  const running = await listen(app.callback());
  servers.push(running);
  return running.url;
}

/** An app with the webhook on `PATH` through @koa/router, after `before` middleware. */
function routed(
  Framework: typeof Koa,
  webhook: ReturnType<typeof ittybitWebhook>,
  ...before: Koa.Middleware[]
) {
  const app = new Framework();
  for (const middleware of before) app.use(middleware);
  const router = new Router();
  router.post(PATH, webhook);
  app.use(router.routes());
  return app;
}

describe.each([
  ['Koa 3', Koa],
  ['Koa 2', Koa2],
] as const)('%s', (_name, Framework) => {
  it('types the task by handler and ctx.request as the Koa context, with no type argument', async () => {
    const contexts: (Context | undefined)[] = [];
    const webhook = ittybitWebhook({
      secret: SECRET,
      logger: false,
      onSucceeded: (task, ctx) => {
        expectTypeOf(task).toEqualTypeOf<SucceededTask>();
        expectTypeOf(ctx).toEqualTypeOf<HandlerContext<Context>>();
        contexts.push(ctx.request);
      },
      onFailed: () => {},
    });
    const url = await start(routed(Framework, webhook));
    const { body, headers } = await delivery();

    expect((await post(url + PATH, body, headers)).status).toBe(200);
    expect(contexts[0]?.path).toBe(PATH);
    expect(contexts[0]?.router).toBeDefined();
  });

  it('with app.use and { path }: answers its path, passes every other path on to next()', async () => {
    const { seen, options } = recording();
    const app = new Framework();
    app.use(ittybitWebhook(options, { path: PATH }));
    app.use((ctx) => {
      ctx.body = `next: ${ctx.method} ${ctx.path}`;
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const ok = await post(url + PATH, body, headers);
    const get = await fetch(url + PATH);
    const other = await post(`${url}/other`, body, headers);

    expect(ok.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect([other.status, other.body]).toEqual([200, 'next: POST /other']);
  });

  it('sets the answer on ctx for middleware around it, and Koa writes it', async () => {
    const { options } = recording();
    const app = new Framework();
    const seen: unknown[] = [];
    app.use(async (ctx, next) => {
      await next();
      seen.push([
        ctx.status,
        ctx.type,
        ctx.length,
        ctx.body,
        ctx.response.get('allow') || undefined,
      ]);
      ctx.set('x-around', 'yes');
    });
    app.use(ittybitWebhook(options, { path: PATH }));
    const url = await start(app);
    const { body, headers } = await delivery();

    const ok = await post(url + PATH, body, headers);
    const get = await fetch(url + PATH);

    expect(seen).toEqual([
      [200, 'application/json', 17, '{"received":true}', undefined],
      [405, 'application/json', 30, '{"error":"method_not_allowed"}', 'POST'],
    ]);
    expect([ok.status, ok.body, ok.headers.get('content-type')]).toEqual([
      200,
      '{"received":true}',
      'application/json; charset=utf-8',
    ]);
    expect([ok.headers.get('content-length'), ok.headers.get('x-around')]).toEqual(['17', 'yes']);
    expect([get.status, await get.text(), get.headers.get('allow')]).toEqual([
      405,
      '{"error":"method_not_allowed"}',
      'POST',
    ]);
  });

  it('mounted before bodyParser(), it reads the body and JSON routes still parse', async () => {
    const { seen, options } = recording();
    const app = new Framework();
    app.use(ittybitWebhook(options, { path: PATH }));
    app.use(bodyParser());
    app.use((ctx) => {
      ctx.body = { got: ctx.request.body };
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const webhook = await post(url + PATH, body, headers);
    const json = await post(`${url}/json`, '{"a":[1,2]}', { 'content-type': 'application/json' });

    expect(webhook.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(JSON.parse(json.body)).toEqual({ got: { a: [1, 2] } });
  });

  it('verifies the text @koa/bodyparser kept when it ran first (unicode, same bytes)', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options), bodyParser()));
    const { task, body, headers } = await delivery({ metadata: { title: 'Café ☕ 東京' } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it.each([
    ['ctx.request.rawBody', 'rawBody'],
    ['ctx.request.body', 'body'],
  ] as const)('uses the exact bytes a raw-body middleware kept on %s', async (_where, field) => {
    const { seen, options } = recording();
    const keepBytes: Koa.Middleware = async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as unknown as Record<string, unknown>)[field] = Buffer.concat(chunks);
      return next();
    };
    const url = await start(routed(Framework, ittybitWebhook(options), keepBytes));
    // A BOM and pretty-printing: only the exact bytes carry the signature.
    const task = createTestTask();
    const { body, headers } = await createTestDelivery(
      `\uFEFF${JSON.stringify(task, null, 2)}`,
      SECRET,
    );

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it('when @koa/bodyparser dropped a BOM: 500 body_consumed (retried), and the fix the log line names works', async () => {
    const { seen, logger, options } = recording();
    const disable: Koa.Middleware = (ctx, next) => {
      if (ctx.path === PATH) ctx.disableBodyParser = true;
      return next();
    };
    const decoded = await start(routed(Framework, ittybitWebhook(options), bodyParser()));
    const fixed = await start(routed(Framework, ittybitWebhook(options), disable, bodyParser()));
    const { body, headers } = await createTestDelivery(
      `\uFEFF${JSON.stringify(createTestTask({ id: 'task_bom' }))}`,
      SECRET,
    );

    const lossy = await post(decoded + PATH, body, headers);
    const exact = await post(fixed + PATH, body, headers);

    expect(lossy.status).toBe(500);
    expect(JSON.parse(lossy.body)).toEqual({ error: 'body_consumed' });
    const logged = logger.lines.filter((line) => line.includes('body_consumed'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^error .*decoded this body and changed its bytes/);
    expect(logged[0]).toContain('ctx.disableBodyParser = true');
    expect(exact.status).toBe(200);
    expect(seen).toEqual(['task_bom']);
  });

  it('when a parser left no raw text: 500 body_consumed, the log line naming mount order', async () => {
    const { seen, logger, options } = recording();
    const parseJson: Koa.Middleware = async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString());
      return next();
    };
    const url = await start(routed(Framework, ittybitWebhook(options), parseJson));
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'body_consumed' });
    expect(seen).toEqual([]);
    const logged = logger.lines.filter((line) => line.includes('body_consumed'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('Mount ittybitWebhook() before bodyParser()');
  });

  it('leaves the request so that a later @koa/bodyparser skips it instead of failing', async () => {
    const { seen, options } = recording();
    const webhook = ittybitWebhook(options);
    const later: unknown[] = [];
    const app = new Framework();
    app.use(async (ctx) => {
      await webhook(ctx, async () => {});
      await bodyParser()(ctx, async () => {});
      later.push(ctx.request.body);
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(later).toHaveLength(1);
    expect(Buffer.isBuffer(later[0]) && later[0].toString('utf8')).toBe(body);
  });
});
