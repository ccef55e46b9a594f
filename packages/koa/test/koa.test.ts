import type { HandlerContext, ReceiverOptions, SucceededTask } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import Koa2 from 'koa2';
import getRawBody from 'raw-body';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  captureLogger,
  delivery,
  listen,
  post,
  postChunked,
  type Running,
  SECRET,
  splitIntoChunks,
} from './helpers.js';

const PATH = '/webhooks/ittybit';
const LIMIT = 1024;

interface Seen {
  task: SucceededTask;
  request: Context | undefined;
}

/** Options whose handlers record what they got, with a captured logger. */
function recording(overrides: Partial<ReceiverOptions<Record<string, unknown>, Context>> = {}) {
  const seen: Seen[] = [];
  const logger = captureLogger();
  const options: ReceiverOptions<Record<string, unknown>, Context> = {
    secret: SECRET,
    maxBodyBytes: LIMIT,
    logger,
    onSucceeded: (task, ctx: HandlerContext<Context>) => {
      seen.push({ task, request: ctx.request });
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
  it('answers 200 to a valid delivery through @koa/router and hands the typed task and ctx to the handler', async () => {
    const { seen, options } = recording({
      onSucceeded: (task, ctx) => {
        expectTypeOf(task.status).toEqualTypeOf<'succeeded'>();
        expectTypeOf(ctx.request).toEqualTypeOf<Context | undefined>();
        seen.push({ task, request: ctx.request });
      },
    });
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { task, body, headers } = await delivery({ metadata: { exportId: 'e1' } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toEqual({ received: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.task).toMatchObject({
      id: task.id,
      status: 'succeeded',
      metadata: { exportId: 'e1' },
      output: { url: (task.output as { url: string }).url, format: 'mp4' },
    });
    expect(seen[0]?.request?.path).toBe(PATH);
  });

  it('answers 401 to a wrong signature without calling the handler', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, {
      ...headers,
      'ittybit-signature': 'a'.repeat(64),
    });

    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'unauthorized' });
    expect(seen).toHaveLength(0);
  });

  it('with app.use and `path`: answers its path (405 to a GET) and passes other paths on', async () => {
    const { seen, options } = recording();
    const app = new Framework();
    app.use(ittybitWebhook({ ...options, path: PATH }));
    app.use((ctx) => {
      ctx.body = `next: ${ctx.method} ${ctx.path}`;
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const ok = await post(url + PATH, body, headers);
    const get = await fetch(url + PATH);
    const other = await post(`${url}/other`, body, headers);

    expect(ok.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(other.status).toBe(200);
    expect(other.body).toBe('next: POST /other');
  });

  it('answers 413 to a body over maxBodyBytes by Content-Length', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { body, headers } = await delivery({ metadata: { pad: 'x'.repeat(LIMIT * 2) } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'payload_too_large' });
    expect(seen).toHaveLength(0);
  });

  it('answers 413 to a chunked body over the limit without hanging, and keeps serving', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { body, headers } = await delivery();
    // 4 MiB in 64 KiB chunks: far more than the socket buffers hold.
    const chunks = Array.from({ length: 64 }, () => new Uint8Array(64 * 1024).fill(0x20));

    const answer = await postChunked(url + PATH, headers, chunks);

    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toEqual({ error: 'payload_too_large' });
    const next = await post(url + PATH, body, headers);
    expect(next.status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('reads a chunked body under the limit', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { task, body, headers } = await delivery();

    const answer = await postChunked(url + PATH, headers, splitIntoChunks(body, 7));

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
  });

  it('uses the text @koa/bodyparser kept when it ran first', async () => {
    const { seen, options } = recording();
    const url = await start(routed(Framework, ittybitWebhook(options), bodyParser()));
    const { body, headers } = await delivery({ metadata: { title: 'Café ☕ 東京' } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.metadata)).toEqual([{ title: 'Café ☕ 東京' }]);
  });

  it('answers 500 body_consumed (retried) when @koa/bodyparser dropped a BOM, and reads it with ctx.disableBodyParser', async () => {
    const { seen, logger, options } = recording();
    const disable: Koa.Middleware = (ctx, next) => {
      if (ctx.path === PATH) ctx.disableBodyParser = true;
      return next();
    };
    const decoded = await start(routed(Framework, ittybitWebhook(options), bodyParser()));
    const raw = await start(routed(Framework, ittybitWebhook(options), disable, bodyParser()));
    const { body, headers } = await createTestDelivery(
      `\uFEFF${JSON.stringify(createTestTask({ id: 'task_bom' }))}`,
      SECRET,
    );

    const lossy = await post(decoded + PATH, body, headers);
    const exact = await post(raw + PATH, body, headers);

    expect(lossy.status).toBe(500);
    expect(JSON.parse(lossy.body)).toEqual({ error: 'body_consumed' });
    expect(logger.lines.join('\n')).toMatch(
      /decoded this body and changed its bytes .*ctx\.disableBodyParser = true/,
    );
    expect(exact.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual(['task_bom']);
  });

  it('answers 500 body_consumed and logs how to mount it when another parser left no raw body', async () => {
    const { seen, logger, options } = recording();
    const parseJson: Koa.Middleware = async (ctx, next) => {
      (ctx.request as { body?: unknown }).body = JSON.parse(String(await getRawBody(ctx.req)));
      return next();
    };
    const url = await start(routed(Framework, ittybitWebhook(options), parseJson));
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'body_consumed' });
    expect(seen).toHaveLength(0);
    const logged = logger.lines.filter((line) => line.includes('body_consumed'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(
      'set ctx.disableBodyParser = true for this route before @koa/bodyparser runs, or mount ittybitWebhook() before the body parser',
    );
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
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
    expect(later).toHaveLength(1);
    expect(Buffer.isBuffer(later[0]) && later[0].toString('utf8')).toBe(body);
  });

  it('answers 500 when the handler throws, then 200 to the retry', async () => {
    let calls = 0;
    const { options } = recording({
      onSucceeded: () => {
        calls += 1;
        if (calls === 1) throw new Error('database down');
      },
    });
    const url = await start(routed(Framework, ittybitWebhook(options)));
    const { body, headers } = await delivery();

    const first = await post(url + PATH, body, headers);
    const retry = await post(url + PATH, body, headers);

    expect(first.status).toBe(500);
    expect(JSON.parse(first.body)).toEqual({ error: 'handler_failed' });
    expect(first.body).not.toContain('database down');
    expect(retry.status).toBe(200);
    expect(calls).toBe(2);
  });
});
