// One HTTP server for the HTTP section, in its own process: `FRAMEWORK` (express, fastify, koa,
// web) and `VARIANT` (ours: the adapter; hand: a hand-written route in the same framework doing
// raw body + HMAC + JSON.parse + a bounded Set of event ids + 200 with the same JSON body).
// Tells the parent its port, then answers `stats` with how many deliveries ran, its CPU time and
// how much it has allocated on the JS heap.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { createReceiver } from '@ittybit-webhooks/core';
import { SECRET } from '../lib/deliveries.mjs';
import { handReceiver } from '../lib/hand.mjs';

const PATH = '/webhooks/ittybit';
const LIMIT = 1024 * 1024;
const { FRAMEWORK, VARIANT } = process.env;

let handled = 0;
const receiver = createReceiver({
  secret: SECRET,
  onSucceeded() {
    handled += 1;
  },
  onFailed() {},
  logger: false,
});
const hand = handReceiver(SECRET);

/** The hand-written route's answer for an outcome: [status, JSON body]. */
function handAnswer(body, signature) {
  const outcome = hand.receive(body, signature);
  if (outcome === 'unauthorized') return [401, { error: 'unauthorized' }];
  if (outcome === 'invalid') return [400, { error: 'invalid_payload' }];
  return [200, { received: true }];
}

async function express() {
  const { default: express } = await import('express');
  const app = express();
  if (VARIANT === 'ours') {
    const { ittybitWebhook } = await import('@ittybit-webhooks/express');
    app.post(PATH, ittybitWebhook(receiver));
  } else {
    app.post(PATH, express.raw({ type: '*/*', limit: LIMIT }), (req, res) => {
      const [status, body] = handAnswer(req.body, req.get('ittybit-signature'));
      res.status(status).json(body);
    });
  }
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function fastify() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (VARIANT === 'ours') {
    const { ittybitWebhook } = await import('@ittybit-webhooks/fastify');
    app.register(ittybitWebhook(receiver, { path: PATH }));
  } else {
    app.register(async (scope) => {
      scope.addContentTypeParser(
        'application/json',
        { parseAs: 'buffer', bodyLimit: LIMIT },
        (_request, body, done) => done(null, body),
      );
      scope.post(PATH, async (request, reply) => {
        const [status, body] = handAnswer(request.body, request.headers['ittybit-signature']);
        reply.code(status);
        return body;
      });
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server.address().port;
}

async function koa() {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (VARIANT === 'ours') {
    const { ittybitWebhook } = await import('@ittybit-webhooks/koa');
    app.use(ittybitWebhook(receiver, { path: PATH }));
  } else {
    const { default: getRawBody } = await import('raw-body');
    app.use(async (ctx, next) => {
      if (ctx.path !== PATH || ctx.method !== 'POST') return next();
      const raw = await getRawBody(ctx.req, { length: ctx.get('content-length'), limit: LIMIT });
      const [status, body] = handAnswer(raw, ctx.get('ittybit-signature'));
      ctx.status = status;
      ctx.body = body;
    });
  }
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function web() {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  if (VARIANT === 'ours') {
    const { ittybitWebhook } = await import('@ittybit-webhooks/web');
    const handler = ittybitWebhook(receiver);
    app.post(PATH, (c) => handler(c.req.raw));
  } else {
    app.post(PATH, async (c) => {
      const raw = Buffer.from(await c.req.arrayBuffer());
      const [status, body] = handAnswer(raw, c.req.header('ittybit-signature'));
      return c.json(body, status);
    });
  }
  return new Promise((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
}

const start = { express, fastify, koa, web }[FRAMEWORK];
if (!start || (VARIANT !== 'ours' && VARIANT !== 'hand')) {
  throw new Error(`FRAMEWORK must be express|fastify|koa|web and VARIANT ours|hand`);
}
const port = await start();

// Bytes allocated on the JS heap since the server started: what the heap grew by, plus what each
// GC freed (V8's GC profiler reports the heap before and after each collection). Buffer contents
// live outside the JS heap and are not counted.
const heapAtStart = getHeapStatistics().used_heap_size;
let freed = 0;
let gcs = 0;
let profiler = new GCProfiler();
profiler.start();
function allocated() {
  const { statistics } = profiler.stop();
  for (const s of statistics) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  gcs += statistics.length;
  profiler = new GCProfiler();
  profiler.start();
  return getHeapStatistics().used_heap_size - heapAtStart + freed;
}

process.on('message', (message) => {
  if (message === 'stats') {
    process.send({
      stats: {
        handled: VARIANT === 'ours' ? handled : hand.fresh(),
        cpuUs: process.cpuUsage(),
        atMs: performance.now(),
        rss: process.memoryUsage().rss,
        allocated: allocated(),
        gcs,
      },
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ port });
