// What is the Web adapter's own: typed handlers, the `path` option, reading a Request body (413
// before reading, a cancelled stream, a body already read, 408 past bodyTimeoutMs with the shared
// timer and with a Worker's timer per request), creation on the first request (Next.js
// builds without the secret), keeping `respond: 'immediately'` work alive (a Worker's waitUntil,
// Next.js after, Vercel's request context, drain), a Next.js route module, and Hono's
// c.executionCtx. The answers themselves are the conformance suite's (packages/conformance).
import {
  createReceiver,
  type HandlerContext,
  type ReceiverOptions,
  type SucceededTask,
  type Task,
} from '@ittybit-webhooks/core';
import type { MountOptions } from '@ittybit-webhooks/core/adapter';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { Hono } from 'hono';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ittybitWebhook } from '../src/index.js';
import { handled as nextHandled, POST as nextPost } from './fixtures/next-route.js';
import { memoryLogger, SECRET } from './helpers.js';

const URL_BASE = 'http://localhost:3000';
const PATH = '/webhooks/ittybit';

type Call = { id: string; status: string; request: Request | undefined };

function setup(
  extra: Partial<ReceiverOptions<Record<string, unknown>, Request>> = {},
  mount?: MountOptions,
) {
  const calls: Call[] = [];
  const logger = memoryLogger();
  const record = (task: Task, ctx: HandlerContext<Request>) => {
    calls.push({ id: task.id, status: task.status, request: ctx.request });
  };
  const handler = ittybitWebhook(
    {
      secret: SECRET,
      logger,
      onSucceeded: record,
      onFailed: record,
      ...extra,
    },
    mount,
  );
  return { handler, calls, logger };
}

async function signedRequest(task = createTestTask(), init: RequestInit = {}) {
  const { body, headers } = await createTestDelivery(task, SECRET);
  return {
    task,
    request: new Request(`${URL_BASE}${PATH}`, { method: 'POST', body, headers, ...init }),
  };
}

/** A body stream that counts what was pulled from it and whether it was cancelled. */
function countingStream(chunkSize: number, maxChunks: number) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= maxChunks) {
        controller.close();
        return;
      }
      state.pulled += 1;
      controller.enqueue(new Uint8Array(chunkSize).fill(0x20));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/** Like a Worker's ExecutionContext: `waitUntil` only works when called on its object. */
class FakeExecutionContext {
  readonly promises: Promise<unknown>[] = [];
  waitUntil(promise: Promise<unknown>): void {
    if (!(this instanceof FakeExecutionContext)) throw new TypeError('Illegal invocation');
    this.promises.push(promise);
  }
  passThroughOnException(): void {}
  props = {};
}

function gate() {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

describe('web handler', () => {
  const { handler, calls, logger } = setup({ maxBodyBytes: 4096 });

  it('types the task by handler and ctx.request as the Request, with no type argument', async () => {
    const seen: (Request | undefined)[] = [];
    const typed = ittybitWebhook({
      secret: SECRET,
      logger: false,
      onSucceeded: (task, ctx) => {
        expectTypeOf(task).toEqualTypeOf<SucceededTask>();
        expectTypeOf(ctx).toEqualTypeOf<HandlerContext<Request>>();
        seen.push(ctx.request);
      },
      onFailed: () => {},
    });
    const { request } = await signedRequest();
    expect((await typed(request)).status).toBe(200);
    expect(seen).toEqual([request]);
  });

  it('with { path }, answers 404 to other paths without reading them', async () => {
    const { handler: mounted, calls: seen } = setup({}, { path: PATH });
    const { request } = await signedRequest();
    const elsewhere = new Request(`${URL_BASE}/other`, request);
    const response = await mounted(elsewhere);
    expect(response.status).toBe(404);
    expect(elsewhere.bodyUsed).toBe(false);
    expect((await mounted((await signedRequest()).request)).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('answers 413 on Content-Length before reading the body', async () => {
    const { task, request } = await signedRequest(createTestTask(), {
      headers: { 'content-length': '5000' },
    });
    const response = await handler(request);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'payload_too_large' });
    expect(request.bodyUsed).toBe(false);
    expect(calls.some((c) => c.id === task.id)).toBe(false);
  });

  it('answers 413 to a streamed body with no Content-Length and cancels the stream', async () => {
    const maxChunks = 1000;
    const { stream, state } = countingStream(1024, maxChunks);
    const request = new Request(`${URL_BASE}${PATH}`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      headers: { 'ittybit-signature': 'a'.repeat(64) },
    } as RequestInit);
    expect(request.headers.get('content-length')).toBeNull();
    const response = await handler(request);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'payload_too_large' });
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(maxChunks);
  });

  it('answers 500 body_consumed and logs how to mount it when the body was already read', async () => {
    const { task, request } = await signedRequest();
    await request.json();
    const locked = (await signedRequest()).request;
    locked.body?.getReader();
    for (const consumed of [request, locked]) {
      const before = logger.lines.length;
      const response = await handler(consumed);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: 'body_consumed' });
      const line = logger.lines.slice(before).find((l) => l.includes('body_consumed'));
      expect(line).toMatch(/^error /);
      expect(line).toContain('export const POST = ittybitWebhook({...})');
      expect(line).toContain('handler(c.req.raw)');
    }
    expect(calls.some((c) => c.id === task.id)).toBe(false);
  });

  it('can be created without a secret (next build), then answers 500 and logs what to set', async () => {
    const lines: string[] = [];
    const keep = (line: string) => {
      lines.push(line);
    };
    const logger = { error: keep, warn: keep };
    const handler = ittybitWebhook({ secret: undefined, logger, onSucceeded() {}, onFailed() {} });
    const response = await handler((await signedRequest()).request);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal_error' });
    expect(lines).toEqual([
      expect.stringMatching(/secret.*missing or empty.*ITTYBIT_WEBHOOK_SECRET/),
    ]);
  });
});

describe('web handler: bodyTimeoutMs', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  /** A signed delivery whose body declares its length and then never arrives. */
  async function stalledRequest() {
    const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
    const stream = new ReadableStream<Uint8Array>({ pull: () => new Promise<void>(() => {}) });
    return new Request(`${URL_BASE}${PATH}`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    } as RequestInit);
  }

  async function expectTimedOut(handler: ReturnType<typeof setup>['handler'], count: number) {
    const requests = await Promise.all(Array.from({ length: count }, stalledRequest));
    const responses = await Promise.all(requests.map((request) => handler(request)));
    for (const response of responses) {
      expect(response.status).toBe(408);
      expect(response.headers.get('connection')).toBe('close');
      expect(await response.json()).toEqual({ error: 'body_timeout' });
    }
  }

  it('answers 408 to every body still arriving past it (one timer for all of them on Node)', async () => {
    const { handler, calls } = setup({ bodyTimeoutMs: 50 });
    await expectTimedOut(handler, 3);
    // Answered again after the list emptied: the timer is set again.
    await expectTimedOut(handler, 1);
    expect(calls).toEqual([]);
  });

  it('answers 408 with a timer per request on Cloudflare Workers', async () => {
    // A Worker's timer belongs to the request that set it, so none is shared there.
    vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
    const { handler, calls } = setup({ bodyTimeoutMs: 50 });
    await expectTimedOut(handler, 2);
    expect(calls).toEqual([]);
  });

  it('reads a body and refuses a locked one with a timer per request on Cloudflare Workers', async () => {
    vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
    const { handler, calls } = setup({ bodyTimeoutMs: 5_000 });
    const sized = async () => {
      const { body, headers } = await createTestDelivery(createTestTask(), SECRET);
      return new Request(`${URL_BASE}${PATH}`, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      });
    };

    const ok = await handler(await sized());
    expect(ok.status).toBe(200);
    expect(calls).toHaveLength(1);

    const locked = await sized();
    locked.body?.getReader();
    const refused = await handler(locked);
    expect(refused.status).toBe(500);
    expect(await refused.json()).toEqual({ error: 'body_consumed' });
    expect(calls).toHaveLength(1);
  });
});

describe('web handler: failures', () => {
  it('fails as an async function would: a rejected promise, never a throw', async () => {
    const { handler } = setup({}, { path: PATH });
    // Not a Request: its URL cannot be parsed.
    const broken = { url: 'not a url', method: 'POST' } as unknown as Request;
    let answer: Promise<Response> | undefined;
    expect(() => {
      answer = handler(broken);
    }).not.toThrow();
    await expect(answer).rejects.toThrow(TypeError);
  });
});

describe("web handler: respond 'immediately'", () => {
  const VERCEL = Symbol.for('@vercel/request-context');
  const globals = globalThis as { [VERCEL]?: unknown };
  afterEach(() => {
    delete globals[VERCEL];
  });

  function slowSetup(extra: Partial<ReceiverOptions<Record<string, unknown>, Request>> = {}) {
    const events: string[] = [];
    const { opened, release } = gate();
    const { handler } = setup({
      logger: false,
      respond: 'immediately',
      onSucceeded: async () => {
        events.push('started');
        await opened;
        events.push('done');
      },
      ...extra,
    });
    return { handler, events, release };
  }

  it('answers 200 before the handler finishes and hands its promise to context.waitUntil', async () => {
    const { handler, events, release } = slowSetup();
    const ctx = new FakeExecutionContext();
    const response = await handler((await signedRequest()).request, ctx);
    expect(response.status).toBe(200);
    expect(events).toEqual(['started']);
    expect(ctx.promises).toHaveLength(1);
    release();
    await ctx.promises[0];
    expect(events).toEqual(['started', 'done']);
  });

  it('uses the waitUntil option (e.g. Next.js after) when the context has none', async () => {
    const kept: Promise<unknown>[] = [];
    const { handler, events, release } = slowSetup({ waitUntil: (p) => kept.push(p) });
    const response = await handler((await signedRequest()).request, {
      params: Promise.resolve({}),
    });
    expect(response.status).toBe(200);
    expect(kept).toHaveLength(1);
    release();
    await kept[0];
    expect(events).toEqual(['started', 'done']);
  });

  it("prefers the context's waitUntil over the option", async () => {
    const kept: Promise<unknown>[] = [];
    const { handler, release } = slowSetup({ waitUntil: (p) => kept.push(p) });
    const ctx = new FakeExecutionContext();
    await handler((await signedRequest()).request, ctx);
    release();
    expect(ctx.promises).toHaveLength(1);
    expect(kept).toHaveLength(0);
  });

  it("uses Vercel's request context when there is no context and no option", async () => {
    const vercel = new FakeExecutionContext();
    globals[VERCEL] = { get: () => vercel };
    const { handler, events, release } = slowSetup();
    expect((await handler((await signedRequest()).request)).status).toBe(200);
    expect(vercel.promises).toHaveLength(1);
    release();
    await vercel.promises[0];
    expect(events).toEqual(['started', 'done']);

    const kept: Promise<unknown>[] = [];
    const withOption = slowSetup({ waitUntil: (p) => kept.push(p) });
    await withOption.handler((await signedRequest()).request);
    withOption.release();
    expect(kept).toHaveLength(1);
    expect(vercel.promises).toHaveLength(1);
  });

  it("prefers a ready receiver's own waitUntil option over Vercel's context", async () => {
    const vercel = new FakeExecutionContext();
    globals[VERCEL] = { get: () => vercel };
    const kept: Promise<unknown>[] = [];
    const receiver = createReceiver<Record<string, unknown>, Request>({
      secret: SECRET,
      logger: false,
      respond: 'immediately',
      waitUntil: (p) => kept.push(p),
      onSucceeded: () => {},
      onFailed: () => {},
    });
    expect((await ittybitWebhook(receiver)((await signedRequest()).request)).status).toBe(200);
    expect(kept).toHaveLength(1);
    expect(vercel.promises).toHaveLength(0);
    await kept[0];
  });

  it('otherwise tracks the handler so receiver.drain() waits for it', async () => {
    const events: string[] = [];
    const { opened, release } = gate();
    const receiver = createReceiver<Record<string, unknown>, Request>({
      secret: SECRET,
      logger: false,
      respond: 'immediately',
      onSucceeded: async () => {
        await opened;
        events.push('done');
      },
      onFailed: () => {},
    });
    const handler = ittybitWebhook(receiver);
    expect((await handler((await signedRequest()).request)).status).toBe(200);
    expect(events).toEqual([]);
    release();
    await receiver.drain();
    expect(events).toEqual(['done']);
  });

  it("does not call waitUntil in the default 'after-handler' mode", async () => {
    const { handler, calls } = setup({ logger: false });
    const ctx = new FakeExecutionContext();
    const { task, request } = await signedRequest();
    expect((await handler(request, ctx)).status).toBe(200);
    expect(calls.some((c) => c.id === task.id)).toBe(true);
    expect(ctx.promises).toHaveLength(0);
  });
});

describe('Next.js App Router route module', () => {
  it('answers a delivery to `export const POST` called the way Next.js calls it', async () => {
    const task = createTestTask({ metadata: { exportId: 'exp_42' } });
    const { request } = await signedRequest(task);
    const response = await nextPost(request, { params: Promise.resolve({}) });
    expect(response.status).toBe(200);
    expect(nextHandled).toContainEqual({ id: task.id, exportId: 'exp_42' });
  });

  it("passes Next.js's generated route type check (second argument and return type)", () => {
    // The check `next build` generates for route.ts, restated: the second parameter's type,
    // unless it is `unknown`, must be assignable to Next.js's `{ params: Promise<...> }`.
    type SecondArg<F> = F extends (...args: [Request, infer C]) => unknown
      ? unknown extends C
        ? { params: Promise<Record<string, string>> }
        : C
      : never;
    type Accepts<T, U> = [T] extends [never] ? false : [T] extends [U] ? true : false;
    const second: Accepts<
      SecondArg<typeof nextPost>,
      { params: Promise<Record<string, string>> }
    > = true;
    const returns: Accepts<ReturnType<typeof nextPost>, Promise<Response>> = true;
    // And Hono's ExecutionContext, a Worker's ctx or nothing at all are accepted too.
    const honoStyle: (request: Request, ctx: { waitUntil(p: Promise<unknown>): void }) => unknown =
      nextPost;
    expect([second, returns, typeof honoStyle]).toEqual([true, true, 'function']);
  });
});

function honoApp(extra: Partial<ReceiverOptions<Record<string, unknown>, Request>> = {}) {
  const { handler, calls, logger } = setup(extra);
  const app = new Hono();
  // On Workers: the ExecutionContext keeps background handlers alive.
  app.post('/worker', (c) => handler(c.req.raw, c.executionCtx));
  // The pitfall: reading the body first leaves nothing to verify.
  app.post('/parsed-first', async (c) => {
    await c.req.json();
    return handler(c.req.raw);
  });
  return { app, calls, logger };
}

describe('Hono (app.fetch)', () => {
  it('passes c.executionCtx through on Workers', async () => {
    const events: string[] = [];
    const { opened, release } = gate();
    const { app } = honoApp({
      logger: false,
      respond: 'immediately',
      onSucceeded: async () => {
        await opened;
        events.push('done');
      },
    });
    const ctx = new FakeExecutionContext();
    const { request } = await signedRequest();
    const worker = new Request(request.url.replace(PATH, '/worker'), request);
    const response = await app.fetch(worker, {}, ctx);
    expect(response.status).toBe(200);
    expect(ctx.promises).toHaveLength(1);
    release();
    await ctx.promises[0];
    expect(events).toEqual(['done']);
  });

  it('answers 500 body_consumed when c.req.json() ran first', async () => {
    const { app, calls, logger } = honoApp();
    const { task, request } = await signedRequest();
    const response = await app.fetch(
      new Request(request.url.replace(PATH, '/parsed-first'), request),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'body_consumed' });
    expect(logger.lines.some((l) => l.startsWith('error ') && l.includes('c.req.raw'))).toBe(true);
    expect(calls.some((c) => c.id === task.id)).toBe(false);
  });
});
