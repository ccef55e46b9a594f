import type { IncomingMessage } from 'node:http';
import type { HandlerContext, ReceiverOptions, SucceededTask } from '@ittybit-webhooks/core';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import express, { type Request } from 'express';
import express4 from 'express4';
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
  request: Request | undefined;
}

/** Options whose handlers record what they got, with a captured logger. */
function recording(overrides: Partial<ReceiverOptions<Record<string, unknown>, Request>> = {}) {
  const seen: Seen[] = [];
  const logger = captureLogger();
  const options: ReceiverOptions<Record<string, unknown>, Request> = {
    secret: SECRET,
    maxBodyBytes: LIMIT,
    logger,
    onSucceeded: (task, ctx: HandlerContext<Request>) => {
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

async function start(listener: Parameters<typeof listen>[0]): Promise<string> {
  const running = await listen(listener);
  servers.push(running);
  return running.url;
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
] as const)('%s', (_name, framework) => {
  it('answers 200 to a valid delivery and hands the typed task and request to the handler', async () => {
    const { seen, options } = recording({
      onSucceeded: (task, ctx) => {
        expectTypeOf(task.status).toEqualTypeOf<'succeeded'>();
        expectTypeOf(task.output?.url).toEqualTypeOf<string | undefined>();
        expectTypeOf(ctx.request).toEqualTypeOf<Request | undefined>();
        seen.push({ task, request: ctx.request });
      },
    });
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { task, body, headers } = await delivery({ metadata: { exportId: 'e1' } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
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
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, {
      ...headers,
      'ittybit-signature': 'a'.repeat(64),
    });

    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: 'unauthorized' });
    expect(seen).toHaveLength(0);
  });

  it('answers 405 with Allow: POST to a GET', async () => {
    const { options } = recording();
    const app = framework();
    app.all(PATH, ittybitWebhook(options));
    const url = await start(app);

    const response = await fetch(url + PATH);

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 413 to a body over maxBodyBytes by Content-Length', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { body, headers } = await delivery({ metadata: { pad: 'x'.repeat(LIMIT * 2) } });

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'payload_too_large' });
    expect(seen).toHaveLength(0);
  });

  it('answers 413 to a chunked body over the limit without hanging, and keeps serving', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { body, headers } = await delivery();
    // 4 MiB in 64 KiB chunks: far more than the socket buffers hold, so a server that stopped
    // reading without answering would leave this request hanging.
    const chunks = Array.from({ length: 64 }, () => new Uint8Array(64 * 1024).fill(0x20));

    const answer = await postChunked(url + PATH, headers, chunks);

    expect(answer.status).toBe(413);
    expect(answer.headers['content-length']).toBeDefined();
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toEqual({ error: 'payload_too_large' });
    const next = await post(url + PATH, body, headers);
    expect(next.status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('reads a chunked body under the limit', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await postChunked(url + PATH, headers, splitIntoChunks(body, 7));

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
  });

  it.each([
    ['express.json()', () => framework.json()],
    ['express.text()', () => framework.text({ type: '*/*' })],
  ])(
    'answers 500 body_consumed and logs how to mount it when %s ran first',
    async (_parser, parser) => {
      const { seen, logger, options } = recording();
      const app = framework();
      app.use(parser());
      app.post(PATH, ittybitWebhook(options));
      const url = await start(app);
      const { body, headers } = await delivery();

      const answer = await post(url + PATH, body, headers);

      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.body)).toEqual({ error: 'body_consumed' });
      expect(seen).toHaveLength(0);
      const logged = logger.lines.filter((line) => line.includes('body_consumed'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain(
        "mount ittybitWebhook() before app.use(express.json()) (or any other body parser), or give this route express.raw({ type: '*/*' }) first",
      );
    },
  );

  it('uses the Buffer that express.raw() kept on the route', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.post(PATH, framework.raw({ type: '*/*' }), ittybitWebhook(options));
    app.use(framework.json());
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
  });

  it('uses req.rawBody kept by a verify hook of express.json()', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.use(
      framework.json({
        verify: (req, _res, buffer) => {
          (req as unknown as { rawBody?: Buffer }).rawBody = buffer;
        },
      }),
    );
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
  });

  it('leaves the request so that a later body parser skips it instead of failing or hanging', async () => {
    const { seen, options } = recording();
    const webhook = ittybitWebhook(options);
    const later: { error: unknown; body: unknown }[] = [];
    const app = framework();
    app.post(PATH, async (req, res) => {
      await webhook(req, res);
      for (const parser of [framework.json(), framework.text({ type: '*/*' })]) {
        await new Promise<void>((resolve) =>
          parser(req, res, (error?: unknown) => {
            later.push({ error, body: req.body });
            resolve();
          }),
        );
      }
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.task.id)).toEqual([task.id]);
    await expect.poll(() => later.length).toBe(2);
    for (const { error, body: kept } of later) {
      expect(error).toBeUndefined();
      expect(Buffer.isBuffer(kept) && kept.toString('utf8')).toBe(body);
    }
  });

  it('answers 500 when the handler throws, then 200 to the retry', async () => {
    let calls = 0;
    const { options } = recording({
      onSucceeded: () => {
        calls += 1;
        if (calls === 1) throw new Error('database down');
      },
    });
    const app = framework();
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
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

describe('plain node:http', () => {
  it('serves as a request listener: 200, 401, 405 and chunked 413', async () => {
    const seen: string[] = [];
    const url = await start(
      ittybitWebhook<Record<string, unknown>, IncomingMessage>({
        secret: SECRET,
        maxBodyBytes: LIMIT,
        logger: false,
        onSucceeded: (task, ctx) => {
          expectTypeOf(ctx.request).toEqualTypeOf<IncomingMessage | undefined>();
          seen.push(`${task.id} ${ctx.request?.url}`);
        },
        onFailed: () => {},
      }),
    );
    const { task, body, headers } = await delivery();

    const ok = await post(`${url}/any/path`, body, headers);
    const forged = await post(`${url}/any/path`, body, {
      ...headers,
      'ittybit-signature': 'b'.repeat(64),
    });
    const get = await fetch(url);
    const big = await postChunked(url, headers, splitIntoChunks('x'.repeat(LIMIT * 4), 512));

    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ received: true });
    expect(seen).toEqual([`${task.id} /any/path`]);
    expect(forged.status).toBe(401);
    expect(get.status).toBe(405);
    expect(big.status).toBe(413);
  });
});
