import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Receiver, ReceiverOptions } from '@ittybit-webhooks/core';
import { isReceiver } from '@ittybit-webhooks/core/adapter';
import { ittybitWebhook as expressWebhook } from '@ittybit-webhooks/express';
import { ittybitWebhook as fastifyWebhook } from '@ittybit-webhooks/fastify';
import { ittybitWebhook as koaWebhook } from '@ittybit-webhooks/koa';
import { IttybitWebhookModule } from '@ittybit-webhooks/nestjs';
import { listen, type Running } from '@ittybit-webhooks/test-helpers';
import { ittybitWebhook as webWebhook } from '@ittybit-webhooks/web';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import { type MiddlewareConsumer, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import Koa2 from 'koa2';
import { serveWebHandler, WEBHOOK_PATH } from './servers.js';

// Handlers are typed for every framework at once, so the receiver's request type is `any` here.
// biome-ignore lint/suspicious/noExplicitAny: one receiver type for four framework request types
type AnyRequest = any;

/** What every adapter's `ittybitWebhook` takes first: receiver options or a ready receiver. */
export type ReceiverInput = ReceiverOptions<Record<string, unknown>, AnyRequest> | Receiver;

/** How a case wants the endpoint served. */
export interface StartOptions {
  /** Another body parser runs before the adapter and consumes the body. */
  parsedFirst?: boolean;
}

/** One adapter, mounted one way, under test: how to serve a receiver on a real port. */
export interface AdapterUnderTest {
  /** `<framework> <major> (<mount>)`, as printed in the table. */
  name: string;
  /**
   * What sets this row apart, most specific first: `<family> <mount>`, the mount (`route`: a
   * framework router's POST route; `path`: the adapter answers every method on its path), and
   * the family (`express`, `fastify`, `koa`, `web`). A case's `expectedFor` is looked up in this
   * order.
   */
  tags: string[];
  /** Serves the endpoint; `url` is the webhook's full URL. */
  start(input: ReceiverInput, options: StartOptions): Promise<Running>;
  /** True when `request` is this framework's own request object (handlers get it as ctx.request). */
  isNativeRequest(request: unknown): boolean;
}

function has(value: unknown, ...keys: string[]): boolean {
  return typeof value === 'object' && value !== null && keys.every((key) => key in value);
}

/** The running server, its URL pointing at the webhook path. */
async function at(running: Promise<Running>): Promise<Running> {
  const { url, close } = await running;
  return { url: `${url}${WEBHOOK_PATH}`, close };
}

const tags = (family: string, mount: 'route' | 'path') => [`${family} ${mount}`, mount, family];

const isExpressRequest = (request: unknown) => has(request, 'app', 'res', 'originalUrl');
const isKoaContext = (request: unknown) => has(request, 'req', 'res', 'request', 'response', 'app');

/** Express with the webhook on `app.post(path, …)`, or on `app.use(…, { path })`. */
function expressRow(name: string, lib: typeof express, mount: 'route' | 'path'): AdapterUnderTest {
  return {
    name: `${name} (${mount === 'route' ? 'app.post' : 'app.use, path'})`,
    tags: tags('express', mount),
    start(input, { parsedFirst }) {
      const app = lib();
      // express.json() reads every application/json body before the webhook runs.
      if (parsedFirst) app.use(lib.json());
      if (mount === 'route') app.post(WEBHOOK_PATH, expressWebhook(input));
      else app.use(expressWebhook(input, { path: WEBHOOK_PATH }));
      return at(listen(app));
    },
    isNativeRequest: isExpressRequest,
  };
}

/** Koa with the webhook on `router.post(path, …)` (@koa/router), or on `app.use(…, { path })`. */
function koaRow(name: string, Lib: typeof Koa, mount: 'route' | 'path'): AdapterUnderTest {
  return {
    name: `${name} (${mount === 'route' ? 'router.post' : 'app.use, path'})`,
    tags: tags('koa', mount),
    start(input, { parsedFirst }) {
      const app = new Lib();
      app.silent = true;
      // @koa/bodyparser without ctx.disableBodyParser: it parses JSON and keeps ctx.request.rawBody.
      if (parsedFirst) app.use(bodyParser());
      if (mount === 'route') {
        const router = new Router();
        router.post(WEBHOOK_PATH, koaWebhook(input));
        app.use(router.routes());
      } else {
        app.use(koaWebhook(input, { path: WEBHOOK_PATH }));
      }
      return at(listen(app.callback()));
    },
    isNativeRequest: isKoaContext,
  };
}

/** The Express adapter as a plain `node:http` request listener, with `path` (no framework). */
const nodeHttp: AdapterUnderTest = {
  name: 'node:http (listener, path)',
  tags: tags('express', 'path'),
  start(input, { parsedFirst }) {
    const listener = expressWebhook(input, { path: WEBHOOK_PATH });
    const parseJson = express.json();
    return at(
      listen((req, res) => {
        if (!parsedFirst) return listener(req, res);
        parseJson(req as express.Request, res as express.Response, () => listener(req, res));
      }),
    );
  },
  isNativeRequest: (request) => has(request, 'headers', 'socket', 'method') && !has(request, 'app'),
};

const fastify: AdapterUnderTest = {
  name: 'fastify 5 (register, path)',
  tags: tags('fastify', 'path'),
  async start(input, { parsedFirst }) {
    const app = Fastify({ logger: false, forceCloseConnections: true });
    if (parsedFirst) {
      // What an Express body parser does under @fastify/express or @fastify/middie: an app-wide
      // onRequest hook reads the stream and leaves parsed JSON on the raw request.
      app.addHook('onRequest', async (request) => {
        const raw = request.raw as typeof request.raw & { body?: unknown };
        if (request.method !== 'POST') return;
        const chunks: Buffer[] = [];
        for await (const chunk of raw) chunks.push(chunk as Buffer);
        raw.body = JSON.parse(
          Buffer.concat(chunks)
            .toString('utf8')
            .replace(/^\uFEFF/, ''),
        );
      });
    }
    await app.register(fastifyWebhook(input, { path: WEBHOOK_PATH }));
    await app.ready();
    const running = await listen(app.server);
    return {
      url: `${running.url}${WEBHOOK_PATH}`,
      close: async () => {
        await running.close();
        await app.close();
      },
    };
  },
  isNativeRequest: (request) => has(request, 'raw', 'routeOptions', 'server'),
};

const web: AdapterUnderTest = {
  name: 'web (handler, path)',
  tags: tags('web', 'path'),
  start(input, { parsedFirst }) {
    // A Request handler sees every method and path (as a Worker's `fetch` or Deno.serve does).
    return at(
      serveWebHandler(webWebhook(input, { path: WEBHOOK_PATH }), { readBodyFirst: parsedFirst }),
    );
  },
  isNativeRequest: (request) => request instanceof Request,
};

const webOnHono: AdapterUnderTest = {
  name: 'web (hono app.post)',
  tags: tags('web', 'route'),
  start(input, { parsedFirst }) {
    const handler = webWebhook(input);
    const app = new Hono();
    // A middleware that reads the JSON body (as a validator would) before the route.
    if (parsedFirst) {
      app.use(WEBHOOK_PATH, async (c, next) => {
        await c.req.json();
        await next();
      });
    }
    // On Node there is no c.executionCtx (it throws), so none is passed.
    app.post(WEBHOOK_PATH, (c) => handler(c.req.raw));
    return at(
      listen(createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server),
    );
  },
  isNativeRequest: (request) => request instanceof Request,
};

/**
 * NestJS 11 with `IttybitWebhookModule.forRoot({ ...options, path })` (or `{ receiver, path }`)
 * on platform-express or platform-fastify, created by `NestFactory.create` with Nest's defaults.
 * Another parser first: an Express app that already runs `express.json()` handed to
 * `ExpressAdapter`; on Fastify, `express.json()` as Nest middleware (run by @fastify/middie).
 */
function nestRow(platform: 'express' | 'fastify'): AdapterUnderTest {
  return {
    name: `nestjs 11 (platform-${platform}, forRoot)`,
    tags: [`nestjs ${platform}`, `${platform} path`, 'path', 'nestjs', platform],
    async start(input, { parsedFirst }) {
      const webhook = IttybitWebhookModule.forRoot(
        isReceiver(input)
          ? { receiver: input as Receiver, path: WEBHOOK_PATH }
          : { ...(input as ReceiverOptions), path: WEBHOOK_PATH },
      );
      class AppModule {
        configure(consumer: MiddlewareConsumer) {
          if (parsedFirst && platform === 'fastify') consumer.apply(express.json()).forRoutes('*');
        }
      }
      Module({ imports: [webhook] })(AppModule);
      const server = express();
      if (parsedFirst && platform === 'express') server.use(express.json());
      const adapter = platform === 'express' ? new ExpressAdapter(server) : new FastifyAdapter();
      const app = await NestFactory.create(AppModule, adapter, {
        logger: false,
        abortOnError: false,
        forceCloseConnections: true,
      });
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      return { url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`, close: () => app.close() };
    },
    isNativeRequest:
      platform === 'express'
        ? isExpressRequest
        : (request) => has(request, 'raw', 'routeOptions', 'server'),
  };
}

/** Every adapter and mount the suite runs, each on a real server. */
export const adapters: AdapterUnderTest[] = [
  expressRow('express 5', express, 'route'),
  expressRow('express 5', express, 'path'),
  expressRow('express 4', express4 as unknown as typeof express, 'route'),
  nodeHttp,
  fastify,
  koaRow('koa 3', Koa, 'route'),
  koaRow('koa 3', Koa, 'path'),
  koaRow('koa 2', Koa2 as unknown as typeof Koa, 'route'),
  web,
  webOnHono,
  nestRow('express'),
  nestRow('fastify'),
];
