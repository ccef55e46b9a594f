// Reading the body of a request that declares its length: through the runtime's own
// `arrayBuffer()` (on Hono's Node server that skips building a web stream), and still a 500
// body_consumed when something else read or locked the body first.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { captureLogger } from '@ittybit-webhooks/test-helpers';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { ittybitWebhook } from '../src/index.js';

const SECRET = 'whsec_web_read_body';
const URL_BASE = 'http://127.0.0.1:3000';
const PATH = '/webhooks/ittybit';

function setup() {
  const handled: string[] = [];
  const logger = captureLogger();
  const record = (task: { id: string }) => {
    handled.push(task.id);
  };
  const handler = ittybitWebhook({ secret: SECRET, logger, onSucceeded: record, onFailed: record });
  return { handler, handled, logger };
}

async function delivery() {
  const task = createTestTask();
  const { body, headers } = await createTestDelivery(task, SECRET);
  return { task, body, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } };
}

describe('a body with Content-Length', () => {
  it('is answered 500 body_consumed when another reader locked or read it first', async () => {
    const { handler, handled, logger } = setup();
    const first = await delivery();
    const locked = new Request(`${URL_BASE}${PATH}`, {
      method: 'POST',
      body: first.body,
      headers: first.headers,
    });
    locked.body?.getReader();
    const second = await delivery();
    const read = new Request(`${URL_BASE}${PATH}`, {
      method: 'POST',
      body: second.body,
      headers: second.headers,
    });
    await read.text();
    for (const request of [locked, read]) {
      expect(request.headers.get('content-length')).not.toBeNull();
      const response = await handler(request);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'body_consumed' });
    }
    expect(handled).toEqual([]);
    expect(
      logger.lines.filter((l) => l.startsWith('error ') && l.includes('c.req.raw')),
    ).toHaveLength(2);
  });

  it('is read whole as it arrives on the wire', async () => {
    const { handler, handled } = setup();
    const { task, body, headers } = await delivery();
    const response = await handler(
      new Request(`${URL_BASE}${PATH}`, { method: 'POST', body, headers }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true });
    expect(handled).toEqual([task.id]);
  });
});

describe("on Hono's Node server", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function start() {
    const { handler, handled, logger } = setup();
    const app = new Hono();
    app.post(PATH, (c) => handler(c.req.raw));
    app.post('/text-first', async (c) => {
      await c.req.text();
      return handler(c.req.raw);
    });
    app.post('/locked-first', (c) => {
      c.req.raw.body?.getReader();
      return handler(c.req.raw);
    });
    const port = await new Promise<number>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve((info as AddressInfo).port),
      );
      close = () => new Promise<void>((done) => server.close(() => done()));
    });
    return { url: `http://127.0.0.1:${port}`, handled, logger };
  }

  it('answers 200 for a signed delivery and runs the handler once', async () => {
    const { url, handled } = await start();
    const { task, body, headers } = await delivery();
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${url}${PATH}`, { method: 'POST', body, headers });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(handled).toEqual([task.id]);
  });

  it('answers 500 body_consumed when the route read or locked the body first', async () => {
    const { url, handled, logger } = await start();
    for (const path of ['/text-first', '/locked-first']) {
      const { body, headers } = await delivery();
      const response = await fetch(`${url}${path}`, { method: 'POST', body, headers });
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'body_consumed' });
    }
    expect(handled).toEqual([]);
    expect(
      logger.lines.filter((l) => l.startsWith('error ') && l.includes('c.req.raw')),
    ).toHaveLength(2);
  });
});
