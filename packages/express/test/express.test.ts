// What is Express's own: mounting (app.post, app.use with path, a plain node:http listener),
// Express's body parsers in front of the webhook and the fix its body_consumed line names, and
// the handler types. The answers themselves are the conformance suite's (packages/conformance).
import type { IncomingMessage } from 'node:http';
import {
  createReceiver,
  type HandlerContext,
  type ReceiverOptions,
  type SucceededTask,
} from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import express, { type Request } from 'express';
import express4 from 'express4';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { captureLogger, delivery, listen, post, type Running, SECRET } from './helpers.js';

const PATH = '/webhooks/ittybit';

/** Options whose handler records the task ids it got, with a captured logger. */
function recording(overrides: Partial<ReceiverOptions<Record<string, unknown>, Request>> = {}) {
  const seen: string[] = [];
  const logger = captureLogger();
  const options: ReceiverOptions<Record<string, unknown>, Request> = {
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

async function start(listener: Parameters<typeof listen>[0]): Promise<string> {
  const running = await listen(listener);
  servers.push(running);
  return running.url;
}

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
] as const)('%s', (_name, framework) => {
  it('types the task by handler and ctx.request as the Express request, with no type argument', async () => {
    const requests: (Request | undefined)[] = [];
    const app = framework();
    app.post(
      PATH,
      ittybitWebhook({
        secret: SECRET,
        logger: false,
        onSucceeded: (task, ctx) => {
          expectTypeOf(task).toEqualTypeOf<SucceededTask>();
          expectTypeOf(ctx).toEqualTypeOf<HandlerContext<Request>>();
          requests.push(ctx.request);
        },
        onFailed: (task) => {
          expectTypeOf(task.status).toEqualTypeOf<'failed' | 'cancelled'>();
        },
      }),
    );
    const url = await start(app);
    const { body, headers } = await delivery();

    expect((await post(url + PATH, body, headers)).status).toBe(200);
    expect(requests[0]?.path).toBe(PATH);
    expect(requests[0]?.app).toBe(app);
  });

  it('with app.use and { path }: answers its path, passes every other path on to next()', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.use(ittybitWebhook(options, { path: PATH }));
    app.use((req, res) => {
      res.status(200).send(`next: ${req.method} ${req.path}`);
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const ok = await post(url + PATH, body, headers);
    const get = await fetch(url + PATH);
    const other = await post(`${url}/other`, body, headers);
    const below = await post(`${url + PATH}/deeper`, body, headers);

    expect(ok.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect([other.status, other.body]).toEqual([200, 'next: POST /other']);
    expect([below.status, below.body]).toEqual([200, `next: POST ${PATH}/deeper`]);
  });

  it('mounted before app.use(express.json()), it reads the body and JSON routes still parse', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.use(ittybitWebhook(options, { path: PATH }));
    app.use(framework.json());
    app.post('/json', (req, res) => {
      res.json({ got: req.body });
    });
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const webhook = await post(url + PATH, body, headers);
    const json = await post(`${url}/json`, '{"a":[1,2]}', { 'content-type': 'application/json' });

    expect(webhook.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(JSON.parse(json.body)).toEqual({ got: { a: [1, 2] } });
  });

  it.each([
    ['express.json()', () => framework.json()],
    ['express.text()', () => framework.text({ type: '*/*' })],
  ])(
    'after a global %s: 500 body_consumed, and the log line names the verify hook and mount order',
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
      expect(seen).toEqual([]);
      const logged = logger.lines.filter((line) => line.includes('body_consumed'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/^error /);
      expect(logged[0]).toContain('mount ittybitWebhook() before app.use(express.json())');
      expect(logged[0]).toContain('verify: (req, _res, buf) => { req.rawBody = buf; }');
    },
  );

  it('the fix the log line names works: a global express.json() whose verify hook keeps req.rawBody', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.use(
      framework.json({
        verify: (req, _res, buf) => {
          (req as unknown as { rawBody?: Buffer }).rawBody = buf;
        },
      }),
    );
    app.post(PATH, ittybitWebhook(options));
    const url = await start(app);
    // Pretty-printed with unicode: the parsed body re-serialised would not match the signature.
    const task = createTestTask({ metadata: { title: 'Café 😀' } });
    const { body, headers } = await createTestDelivery(JSON.stringify(task, null, 2), SECRET);

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it('after a global express.json(), express.raw() on the route does not help (as the log line says)', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.use(framework.json());
    app.post(PATH, framework.raw({ type: '*/*' }), ittybitWebhook(options));
    const url = await start(app);
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'body_consumed' });
    expect(seen).toEqual([]);
  });

  it('uses the Buffer that express.raw() kept on the route', async () => {
    const { seen, options } = recording();
    const app = framework();
    app.post(PATH, framework.raw({ type: '*/*' }), ittybitWebhook(options));
    const url = await start(app);
    const { task, body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
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
    expect(seen).toEqual([task.id]);
    await expect.poll(() => later.length).toBe(2);
    for (const { error, body: kept } of later) {
      expect(error).toBeUndefined();
      expect(Buffer.isBuffer(kept) && kept.toString('utf8')).toBe(body);
    }
  });
});

describe('an unexpected error in the adapter', () => {
  // A receiver that throws where `handle` never does: what the adapter does with the unexpected.
  function throwing() {
    const receiver = createReceiver({ secret: SECRET, onSucceeded: () => {}, onFailed: () => {} });
    return Object.assign(receiver, {
      handle: () => Promise.reject(new Error('unexpected')),
    }) as typeof receiver;
  }

  it("goes to Express's error handling through next(error)", async () => {
    const caught: string[] = [];
    const app = express();
    app.post(PATH, ittybitWebhook(throwing()));
    app.use((error: Error, _req: Request, res: express.Response, _next: express.NextFunction) => {
      caught.push(error.message);
      res.status(503).send('app error handler');
    });
    const url = await start(app);
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect([answer.status, answer.body]).toEqual([503, 'app error handler']);
    expect(caught).toEqual(['unexpected']);
  });

  it('is a bare 500 from a plain node:http listener (no next)', async () => {
    const url = await start(ittybitWebhook(throwing()));
    const { body, headers } = await delivery();

    const answer = await post(url + PATH, body, headers);

    expect([answer.status, answer.body]).toEqual([500, '']);
  });
});

describe('plain node:http', () => {
  it('serves as a request listener; with { path }, other paths get a 404 (there is no next)', async () => {
    const seen: string[] = [];
    const listener = ittybitWebhook(
      {
        secret: SECRET,
        logger: false,
        onSucceeded: (task, ctx: HandlerContext<IncomingMessage>) => {
          expectTypeOf(ctx.request).toEqualTypeOf<IncomingMessage | undefined>();
          seen.push(`${task.id} ${ctx.request?.url}`);
        },
        onFailed: () => {},
      },
      { path: PATH },
    );
    const url = await start(listener);
    const { task, body, headers } = await delivery();

    const ok = await post(`${url + PATH}?attempt=1`, body, headers);
    const other = await post(`${url}/other`, body, headers);

    expect(ok.status).toBe(200);
    expect(seen).toEqual([`${task.id} ${PATH}?attempt=1`]);
    expect([other.status, other.body]).toEqual([404, '']);
  });

  it('without { path }, answers every path', async () => {
    const seen: string[] = [];
    const url = await start(
      ittybitWebhook({
        secret: SECRET,
        logger: false,
        onSucceeded: (task) => {
          seen.push(task.id);
        },
        onFailed: () => {},
      }),
    );
    const { task, body, headers } = await delivery();

    expect((await post(`${url}/any/path`, body, headers)).status).toBe(200);
    expect(seen).toEqual([task.id]);
  });

  it('refuses a path that does not start with "/" when it is created', () => {
    expect(() =>
      ittybitWebhook(
        { secret: SECRET, onSucceeded: () => {}, onFailed: () => {} },
        { path: 'webhooks' },
      ),
    ).toThrow('path must start with "/"');
  });
});
