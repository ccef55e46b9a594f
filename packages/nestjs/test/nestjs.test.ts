import { createReceiver, type Receiver, type SucceededTask } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import {
  ITTYBIT_WEBHOOK_RECEIVER,
  IttybitWebhookModule,
  type IttybitWebhookOptionsFactory,
} from '@ittybit-webhooks/nestjs';
import { signedDelivery } from '@ittybit-webhooks/test-helpers';
import {
  type CanActivate,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestModule,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appModule,
  boots,
  capturingNestLogger,
  ExportsModule,
  ExportsService,
  platforms,
  type RunningApp,
  SECRET,
  start,
} from './apps.js';

const PATH = '/webhooks/ittybit';

/** The webhook module the way the README shows it: handlers that use an injected service. */
const withInjectedService = (extra: Record<string, unknown> = {}) =>
  IttybitWebhookModule.forRootAsync({
    imports: [ExportsModule],
    inject: [ExportsService],
    useFactory: (exports: ExportsService) => ({
      secret: SECRET,
      onSucceeded: (task, ctx) => exports.markReady(task, ctx.request),
      onFailed: (task) => exports.markFailed(task),
      ...extra,
    }),
  });

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function boot(...args: Parameters<typeof start>): Promise<RunningApp> {
  const app = await start(...args);
  running.push(app);
  return app;
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const postJson = (url: string, value: unknown) =>
  post(url, JSON.stringify(value), { 'content-type': 'application/json' });

describe.each(platforms.flatMap((platform) => boots.map((way) => [platform, way] as const)))(
  'platform-%s, app made by %s',
  (platform, way) => {
    it('answers 200 to a signed delivery and the handler gets the injected service and the request', async () => {
      const { base, exports } = await boot(platform, way, appModule(withInjectedService()));
      const { task, body, headers } = await signedDelivery(SECRET);

      const answer = await post(base + PATH, body, headers);

      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ received: true });
      expect(exports.ready).toHaveLength(1);
      expect(exports.ready[0]).toMatchObject({
        id: task.id,
        url: (task.output as { url: string }).url,
      });
      // ctx.request is the platform's own request: Express' req, or Fastify's request (with .raw).
      const request = exports.ready[0]?.request as Record<string, unknown>;
      if (platform === 'express') expect(request.originalUrl).toBe(PATH);
      else expect(request.raw).toBeDefined();
    });

    it('answers a duplicate 200 with the duplicate header, without calling the handler again', async () => {
      const { base, exports } = await boot(platform, way, appModule(withInjectedService()));
      const { body, headers } = await signedDelivery(SECRET);

      const first = await post(base + PATH, body, headers);
      const second = await post(base + PATH, body, headers);

      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.headers.get('ittybit-webhook-duplicate')).toBe('true');
      expect(exports.ready).toHaveLength(1);
    });

    it('answers 401 to a forged signature and logs the reason through the Nest logger', async () => {
      const logger = capturingNestLogger();
      const { base, exports } = await boot(platform, way, appModule(withInjectedService()), {
        logger,
      });
      const { body, headers } = await signedDelivery(SECRET);

      const answer = await post(base + PATH, body, {
        ...headers,
        'ittybit-signature': 'ab'.repeat(32),
      });

      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: 'unauthorized' });
      expect(exports.ready).toHaveLength(0);
      const line = logger.lines.find((l) => l.includes('invalid_signature'));
      expect(line).toMatch(/^warn \[IttybitWebhook\] 401 invalid_signature/);
    });

    it('answers 405 with Allow: POST to a GET', async () => {
      const { base } = await boot(platform, way, appModule(withInjectedService()));

      const response = await fetch(base + PATH);

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    });

    it('leaves the other routes alone: JSON still parsed, rawBody still off', async () => {
      const { base } = await boot(platform, way, appModule(withInjectedService()));

      const answer = await postJson(`${base}/api/things`, { name: 'thing', n: 1 });

      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body)).toEqual({ got: { name: 'thing', n: 1 }, rawBody: false });
    });

    it('answers 413 over maxBodyBytes while the JSON route keeps its own, larger limit', async () => {
      const { base, exports } = await boot(
        platform,
        way,
        appModule(withInjectedService({ maxBodyBytes: 1024 })),
      );
      const { body, headers } = await signedDelivery(SECRET, {
        metadata: { pad: 'x'.repeat(4096) },
      });

      const webhook = await post(base + PATH, body, headers);
      const other = await postJson(`${base}/api/things`, { pad: 'x'.repeat(4096) });

      expect(webhook.status).toBe(413);
      expect(JSON.parse(webhook.body)).toEqual({ error: 'payload_too_large' });
      expect(exports.ready).toHaveLength(0);
      expect(other.status).toBe(201);
    });

    it('answers 500 when the handler throws, and the retry runs it again', async () => {
      let calls = 0;
      const module = IttybitWebhookModule.forRoot({
        secret: SECRET,
        logger: false,
        onSucceeded: () => {
          calls += 1;
          if (calls === 1) throw new Error('database down');
        },
        onFailed: () => {},
      });
      const { base } = await boot(platform, way, appModule(module));
      const { body, headers } = await signedDelivery(SECRET);

      const first = await post(base + PATH, body, headers);
      const retry = await post(base + PATH, body, headers);

      expect(first.status).toBe(500);
      expect(JSON.parse(first.body)).toEqual({ error: 'handler_failed' });
      expect(retry.status).toBe(200);
      expect(calls).toBe(2);
    });

    it('waits for background handlers on app.close() (respond: immediately)', async () => {
      let finished = false;
      const module = IttybitWebhookModule.forRoot({
        secret: SECRET,
        respond: 'immediately',
        logger: false,
        onSucceeded: async () => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          finished = true;
        },
        onFailed: () => {},
      });
      const app = await start(platform, way, appModule(module));
      const { body, headers } = await signedDelivery(SECRET);
      let closed = false;
      try {
        const answer = await post(app.base + PATH, body, headers);
        expect(answer.status).toBe(200);
        expect(finished).toBe(false);
        closed = true;
        await app.close();

        expect(finished).toBe(true);
      } finally {
        if (!closed) await app.close();
      }
    });
  },
);

describe.each(platforms)('platform-%s', (platform) => {
  it('useClass: an options factory class with its own injected service', async () => {
    @Injectable()
    class ExportWebhooks implements IttybitWebhookOptionsFactory {
      constructor(@Inject(ExportsService) private readonly exports: ExportsService) {}

      createIttybitWebhookOptions() {
        return {
          secret: SECRET,
          path: '/hooks/ittybit',
          onSucceeded: (task: SucceededTask) => this.exports.markReady(task, undefined),
          onFailed: () => {},
        };
      }
    }
    const module = IttybitWebhookModule.forRootAsync({
      imports: [ExportsModule],
      useClass: ExportWebhooks,
    });
    const { base, exports } = await boot(platform, 'NestFactory', appModule(module));
    const { task, body, headers } = await signedDelivery(SECRET);

    const answer = await post(`${base}/hooks/ittybit`, body, headers);

    expect(answer.status).toBe(200);
    expect(exports.ready.map((r) => r.id)).toEqual([task.id]);
  });

  it('forRoot with a ready receiver, which the app can also inject', async () => {
    const seen: string[] = [];
    const receiver = createReceiver({
      secret: SECRET,
      logger: false,
      onSucceeded: (task) => {
        seen.push(task.id);
      },
      onFailed: () => {},
    });
    const { app, base } = await boot(
      platform,
      'NestFactory',
      appModule(IttybitWebhookModule.forRoot({ receiver })),
    );
    const { task, body, headers } = await signedDelivery(SECRET);

    const answer = await post(base + PATH, body, headers);

    expect(answer.status).toBe(200);
    expect(seen).toEqual([task.id]);
    expect(app.get<Receiver>(ITTYBIT_WEBHOOK_RECEIVER)).toBe(receiver);
  });

  it('two endpoints with their own secrets and paths', async () => {
    const seen: string[] = [];
    const endpoint = (secret: string, path: string) =>
      IttybitWebhookModule.forRoot({
        secret,
        path,
        logger: false,
        onSucceeded: (task) => {
          seen.push(`${path} ${task.id}`);
        },
        onFailed: () => {},
      });
    const { base } = await boot(
      platform,
      'NestFactory',
      appModule(endpoint('whsec_a', '/webhooks/a'), endpoint('whsec_b', '/webhooks/b')),
    );
    const a = await signedDelivery('whsec_a');
    const b = await signedDelivery('whsec_b');

    expect((await post(`${base}/webhooks/a`, a.body, a.headers)).status).toBe(200);
    expect((await post(`${base}/webhooks/b`, b.body, b.headers)).status).toBe(200);
    expect((await post(`${base}/webhooks/b`, a.body, a.headers)).status).toBe(401);
    expect(seen).toEqual([`/webhooks/a ${a.task.id}`, `/webhooks/b ${b.task.id}`]);
  });

  it("serves the full path: the app's global prefix and its own body parsers do not apply", async () => {
    const { base, exports } = await boot(
      platform,
      'NestFactory',
      appModule(withInjectedService()),
      {
        configure: (app) => {
          app.setGlobalPrefix('v1');
          // The app's own JSON parser settings, given after creation as Nest's docs show. (On
          // Fastify, parsers are per content type and the webhook route has its own.)
          if (platform === 'express') {
            (app as NestExpressApplication).useBodyParser('json', { limit: '2mb' });
          }
        },
      },
    );
    const { body, headers } = await signedDelivery(SECRET);

    const webhook = await post(base + PATH, body, headers);
    const other = await postJson(`${base}/v1/api/things`, { ok: true });

    expect(webhook.status).toBe(200);
    expect(exports.ready).toHaveLength(1);
    expect(JSON.parse(other.body)).toEqual({ got: { ok: true }, rawBody: false });
  });

  it("is not behind the app's global guard, which still guards the other routes", async () => {
    // An app whose every route needs an API key (a global guard), with a middleware on all routes.
    const guard: CanActivate = {
      canActivate: (context) => context.switchToHttp().getRequest().headers['x-api-key'] === 'k',
    };
    @Module({ providers: [{ provide: APP_GUARD, useValue: guard }] })
    class GuardedModule implements NestModule {
      configure(consumer: MiddlewareConsumer) {
        consumer
          .apply(
            (_req: unknown, res: { setHeader(n: string, v: string): void }, next: () => void) => {
              res.setHeader('x-app-middleware', 'ran');
              next();
            },
          )
          .forRoutes('*');
      }
    }
    const { base, exports } = await boot(
      platform,
      'NestFactory',
      appModule(withInjectedService(), GuardedModule),
    );
    const { body, headers } = await signedDelivery(SECRET);

    const webhook = await post(base + PATH, body, headers);
    const refused = await postJson(`${base}/api/things`, { ok: true });
    const allowed = await post(`${base}/api/things`, '{"ok":true}', {
      'content-type': 'application/json',
      'x-api-key': 'k',
    });

    expect(webhook.status).toBe(200);
    // Nest middleware runs on Fastify's onRequest hook, before any body is read, for every route;
    // on Express the webhook route answers before it.
    expect(webhook.headers.get('x-app-middleware')).toBe(platform === 'fastify' ? 'ran' : null);
    expect(exports.ready).toHaveLength(1);
    expect(refused.status).toBe(403);
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get('x-app-middleware')).toBe('ran');
  });

  it('logs through a Nest logger given as the logger option (info lines as log)', async () => {
    const logger = capturingNestLogger();
    const module = IttybitWebhookModule.forRoot({
      secret: SECRET,
      logger: logger,
      onSucceeded: () => {},
      onFailed: () => {},
    });
    const { base } = await boot(platform, 'NestFactory', appModule(module));
    const { body, headers } = await signedDelivery(SECRET);

    await post(base + PATH, body, headers);
    await post(base + PATH, body, headers);

    expect(logger.lines.find((l) => l.includes('duplicate'))).toMatch(/^log \[\] 200 duplicate: /);
  });

  it('answers a signed JSON body of another content type (text/plain) with 200', async () => {
    const { base, exports } = await boot(platform, 'NestFactory', appModule(withInjectedService()));
    const task = createTestTask();
    const { body, headers } = await createTestDelivery(task, SECRET);

    const answer = await post(base + PATH, body, { ...headers, 'content-type': 'text/plain' });

    expect(answer.status).toBe(200);
    expect(exports.ready.map((r) => r.id)).toEqual([task.id]);
  });
});

describe('creation errors', () => {
  it('forRootAsync wants exactly one of useFactory, useClass, useExisting', () => {
    expect(() => IttybitWebhookModule.forRootAsync({})).toThrow(/exactly one of useFactory/);
    expect(() =>
      IttybitWebhookModule.forRootAsync({
        useFactory: () => ({ secret: SECRET, onSucceeded: () => {}, onFailed: () => {} }),
        useClass: class {
          createIttybitWebhookOptions() {
            return { secret: SECRET, onSucceeded: () => {}, onFailed: () => {} };
          }
        },
      }),
    ).toThrow(/exactly one of useFactory/);
  });

  it("fails the app's start with the receiver's message when the secret is missing", async () => {
    const module = IttybitWebhookModule.forRootAsync({
      useFactory: () => ({
        secret: process.env.ITTYBIT_WEBHOOK_SECRET_THAT_IS_NOT_SET,
        onSucceeded: () => {},
        onFailed: () => {},
      }),
    });

    await expect(Test.createTestingModule({ imports: [module] }).compile()).rejects.toThrow(
      /secret` is missing or empty/,
    );
  });

  it('fails the start on a path that does not start with /', async () => {
    const module = IttybitWebhookModule.forRoot({
      secret: SECRET,
      path: 'webhooks/ittybit',
      onSucceeded: () => {},
      onFailed: () => {},
    });

    await expect(Test.createTestingModule({ imports: [module] }).compile()).rejects.toThrow(
      /path must start with "\/"/,
    );
  });

  it('in an application context without HTTP, mounts nothing and still provides the receiver', async () => {
    @Module({
      imports: [
        IttybitWebhookModule.forRoot({
          secret: SECRET,
          onSucceeded: () => {},
          onFailed: () => {},
        }),
      ],
    })
    class WorkerModule {}
    const context = await NestFactory.createApplicationContext(WorkerModule, {
      logger: false,
      abortOnError: false,
    });
    try {
      const receiver = context.get<Receiver>(ITTYBIT_WEBHOOK_RECEIVER);
      const task = createTestTask();
      const { body, headers } = await createTestDelivery(task, SECRET);
      await expect(receiver.verify(body, headers)).resolves.toMatchObject({ id: task.id });
    } finally {
      await context.close();
    }
  });
});
