import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Receiver, ReceiverOptions } from '@ittybit-webhooks/core';
import { ittybitWebhook as expressWebhook } from '@ittybit-webhooks/express';
import { ittybitWebhook as fastifyWebhook } from '@ittybit-webhooks/fastify';
import { ittybitWebhook as koaWebhook } from '@ittybit-webhooks/koa';
import { ittybitWebhook as webWebhook } from '@ittybit-webhooks/web';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import Koa2 from 'koa2';
import { listen, type Running, serveWebHandler, WEBHOOK_PATH } from './servers.js';

// Handlers are typed for every framework at once, so the receiver's request type is `any` here.
// biome-ignore lint/suspicious/noExplicitAny: one receiver type for four framework request types
type AnyRequest = any;

/** What every adapter's `ittybitWebhook` takes: receiver options or a ready receiver. */
export type ReceiverInput = ReceiverOptions<Record<string, unknown>, AnyRequest> | Receiver;

/**
 * How the endpoint is mounted:
 * - `route`: the way docs/design.md shows (`app.post`, `router.post`, `app.register`, a POST handler);
 * - `any-method`: the same, but every method reaches the adapter (`app.all`, `router.all`) so a GET
 *   gets the adapter's own answer rather than the framework's 404;
 * - `parsed-first`: another body parser runs first and consumes the body.
 */
export type Mount = 'route' | 'any-method' | 'parsed-first';

/** One adapter under test: how to serve a receiver on a real port. */
export interface AdapterUnderTest {
  name: string;
  start(input: ReceiverInput, mount: Mount): Promise<Running>;
  /** True when `request` is this framework's own request object (handlers get it as ctx.request). */
  isNativeRequest(request: unknown): boolean;
}

function has(value: unknown, ...keys: string[]): boolean {
  return typeof value === 'object' && value !== null && keys.every((key) => key in value);
}

function expressLike(name: string, lib: typeof express): AdapterUnderTest {
  return {
    name,
    async start(input, mount) {
      const app = lib();
      // express.json() reads every application/json body before the route runs.
      if (mount === 'parsed-first') app.use(lib.json());
      if (mount === 'any-method') app.all(WEBHOOK_PATH, expressWebhook(input));
      else app.post(WEBHOOK_PATH, expressWebhook(input));
      return listen(createServer(app));
    },
    isNativeRequest: (request) => has(request, 'app', 'res', 'originalUrl'),
  };
}

function koaLike(name: string, Lib: typeof Koa): AdapterUnderTest {
  return {
    name,
    async start(input, mount) {
      const app = new Lib();
      app.silent = true;
      const router = new Router();
      // @koa/bodyparser without ctx.disableBodyParser: it parses JSON and keeps ctx.request.rawBody.
      if (mount === 'parsed-first') app.use(bodyParser());
      if (mount === 'any-method') router.all(WEBHOOK_PATH, koaWebhook(input));
      else router.post(WEBHOOK_PATH, koaWebhook(input));
      app.use(router.routes());
      return listen(createServer(app.callback()));
    },
    isNativeRequest: (request) => has(request, 'req', 'res', 'request', 'response', 'app'),
  };
}

/** The Express adapter as a plain `node:http` request listener (no framework at all). */
const nodeHttp: AdapterUnderTest = {
  name: 'express (node:http)',
  async start(input, mount) {
    const listener = expressWebhook(input);
    const parseJson = express.json();
    // A plain listener sees every path and method, so `any-method` changes nothing.
    return listen(
      createServer((req, res) => {
        if (mount !== 'parsed-first') return listener(req, res);
        parseJson(req as express.Request, res as express.Response, () => listener(req, res));
      }),
    );
  },
  isNativeRequest: (request) => has(request, 'headers', 'socket', 'method') && !has(request, 'app'),
};

/** The Koa adapter mounted with `app.use` and its `path` option (no router: it sees every method). */
const koaUse: AdapterUnderTest = {
  name: 'koa 3 (app.use, path)',
  async start(input, mount) {
    const app = new Koa();
    app.silent = true;
    if (mount === 'parsed-first') app.use(bodyParser());
    // A ready receiver spread with `path` is still a receiver (it keeps handle/verify).
    app.use(koaWebhook({ ...input, path: WEBHOOK_PATH }));
    return listen(createServer(app.callback()));
  },
  isNativeRequest: (request) => has(request, 'req', 'res', 'request', 'response', 'app'),
};

const fastify: AdapterUnderTest = {
  name: 'fastify 5',
  async start(input, mount) {
    const app = Fastify({ logger: false, forceCloseConnections: true });
    if (mount === 'parsed-first') {
      // The plugin owns the body parser of its route, so "another parser" here is an app-wide
      // hook that turns the body into parsed JSON before the route handler runs.
      app.addHook('preValidation', async (request) => {
        if (Buffer.isBuffer(request.body)) {
          request.body = JSON.parse(request.body.toString('utf8').replace(/^\uFEFF/, ''));
        }
      });
    }
    const isReceiver = typeof (input as Receiver).handle === 'function';
    // The plugin registers every method itself (a GET gets 405), so `any-method` changes nothing.
    await app.register(
      fastifyWebhook,
      isReceiver
        ? { path: WEBHOOK_PATH, receiver: input as Receiver }
        : { path: WEBHOOK_PATH, ...(input as ReceiverOptions) },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`, close: () => app.close() };
  },
  isNativeRequest: (request) => has(request, 'raw', 'routeOptions', 'server'),
};

const web: AdapterUnderTest = {
  name: 'web',
  start(input, mount) {
    // A handler sees every method (a Next.js `POST` export never sees a GET: Next answers that).
    return serveWebHandler(webWebhook(input), { readBodyFirst: mount === 'parsed-first' });
  },
  isNativeRequest: (request) => request instanceof Request,
};

const webOnHono: AdapterUnderTest = {
  name: 'web (hono)',
  start(input, mount) {
    const handler = webWebhook(input);
    const app = new Hono();
    // A middleware that reads the JSON body (as a validator would) before the route.
    if (mount === 'parsed-first') {
      app.use(WEBHOOK_PATH, async (c, next) => {
        await c.req.json();
        await next();
      });
    }
    // Issue 3's pattern; on Node there is no c.executionCtx (it throws), so none is passed.
    if (mount === 'any-method') app.all(WEBHOOK_PATH, (c) => handler(c.req.raw));
    else app.post(WEBHOOK_PATH, (c) => handler(c.req.raw));
    return listen(
      createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server,
    );
  },
  isNativeRequest: (request) => request instanceof Request,
};

/** Every adapter the suite runs, each on a real server. */
export const adapters: AdapterUnderTest[] = [
  expressLike('express 5', express),
  expressLike('express 4', express4 as unknown as typeof express),
  nodeHttp,
  fastify,
  koaLike('koa 3', Koa),
  koaLike('koa 2', Koa2 as unknown as typeof Koa),
  koaUse,
  web,
  webOnHono,
];
