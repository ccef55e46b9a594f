import {
  createReceiver,
  type HandlerContext,
  type IdempotencyStore,
  MemoryStore,
  type ReceiverOptions,
  type Task,
  WebhookError,
} from '@ittybit-webhooks/core';
import { createTestEvent, createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import {
  type ApiGatewayV1Event,
  ittybitWebhook,
  type LambdaHttpEvent,
} from '@ittybit-webhooks/lambda';
import { captureLogger } from '@ittybit-webhooks/test-helpers';
import type {
  ALBEvent,
  ALBHandler,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyHandler,
  APIGatewayProxyHandlerV2,
  LambdaFunctionURLEvent,
  LambdaFunctionURLHandler,
} from 'aws-lambda';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  eventFor,
  type HttpRequest,
  httpApiEvent,
  isEventOf,
  KINDS,
  type Kind,
  restEvent,
  seen,
} from './events.js';

const SECRET = 'whsec_lambda_0123456789';
const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

const OK = { status: 200, body: '{"received":true}' };
const UNAUTHORIZED = { status: 401, body: '{"error":"unauthorized"}' };
const INVALID = { status: 400, body: '{"error":"invalid_payload"}' };
const TOO_LARGE = { status: 413, body: '{"error":"payload_too_large"}' };

/** A signed request carrying `body` (an object is sent as compact JSON). */
async function signed(
  body: object | string | Uint8Array,
  { secret = SECRET, base64 = false, signature = (s: string) => s as string | undefined } = {},
): Promise<HttpRequest> {
  const bytes =
    body instanceof Uint8Array
      ? body
      : utf8(typeof body === 'string' ? body : JSON.stringify(body));
  const header = signature(await signPayload(bytes, secret));
  return {
    body: bytes,
    base64,
    headers: [
      ['Content-Type', 'application/json'],
      ...(header === undefined ? [] : ([['Ittybit-Signature', header]] as [string, string][])),
    ],
  };
}

interface Recorded {
  name: string;
  task: Task;
  ctx: HandlerContext<LambdaHttpEvent>;
}

/** A handler over a receiver whose handlers record their calls. */
function setup(options: Partial<ReceiverOptions<Record<string, unknown>, LambdaHttpEvent>> = {}) {
  const calls: Recorded[] = [];
  const logger = captureLogger();
  let behaviour: (call: Recorded) => unknown = () => undefined;
  const record = (name: string) => async (task: Task, ctx: HandlerContext<LambdaHttpEvent>) => {
    const call = { name, task, ctx };
    calls.push(call);
    await behaviour(call);
  };
  const handler = ittybitWebhook<Record<string, unknown>>({
    secret: SECRET,
    onSucceeded: record('onSucceeded'),
    onFailed: record('onFailed'),
    onUpdate: record('onUpdate'),
    logger,
    ...options,
  });
  return {
    calls,
    logger,
    handler,
    behave(next: (call: Recorded) => unknown) {
      behaviour = next;
    },
    /** Invokes the handler as Lambda would, with the event of `kind`, and reads its answer. */
    async invoke(kind: Kind, request: HttpRequest | Promise<HttpRequest>) {
      const event = eventFor(kind, await request);
      return { event, answer: seen(kind, await handler(event, lambdaContext())) };
    },
  };
}

/** The parts of a Lambda context a handler may touch. */
function lambdaContext() {
  return {
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    functionName: 'ittybit-webhook',
    getRemainingTimeInMillis: () => 3000,
  };
}

describe.each(KINDS)('%s event', (kind) => {
  it('signed delivery: 200 {"received":true}, handler gets the task, the event and lowercase headers', async () => {
    const t = setup();
    const task = createTestTask({ id: 'task_lambda_1', metadata: { exportId: 'exp_1' } });
    const { event, answer } = await t.invoke(kind, signed(task));
    expect(answer).toMatchObject(OK);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['ittybit-webhook-duplicate']).toBeUndefined();
    expect(t.calls.map((c) => [c.name, c.task.id, c.task.metadata])).toEqual([
      ['onSucceeded', 'task_lambda_1', { exportId: 'exp_1' }],
    ]);
    const { ctx } = t.calls[0]!;
    expect(ctx.request).toBe(event);
    expect(isEventOf(kind, ctx.request)).toBe(true);
    expect(ctx.headers['ittybit-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(ctx.headers['content-type']).toBe('application/json');
    expect(ctx.key).toBe('task_lambda_1:succeeded');
  });

  it('base64-encoded body (isBase64Encoded: true): the decoded bytes are checked', async () => {
    const t = setup();
    const { answer } = await t.invoke(kind, signed(createTestTask(), { base64: true }));
    expect(answer).toMatchObject(OK);
    expect(t.calls).toHaveLength(1);
  });

  it('event envelope with a topic: routed, keyed by the event id', async () => {
    const t = setup();
    const envelope = createTestEvent('task.updated', { progress: 40 }, { id: 'evt_lambda_1' });
    const { answer } = await t.invoke(kind, signed(envelope));
    expect(answer).toMatchObject(OK);
    expect(t.calls.map((c) => [c.name, c.ctx.topic, c.ctx.key])).toEqual([
      ['onUpdate', 'task.updated', 'evt_lambda_1'],
    ]);
  });

  it.each([false, true])(
    'UTF-8 with a byte-order mark and non-ASCII metadata, base64 %s: exact bytes, 200',
    async (base64) => {
      const t = setup();
      const json = JSON.stringify(createTestTask({ metadata: { title: 'Café 😀 ünïcødé' } }));
      const { answer } = await t.invoke(
        kind,
        signed(new Uint8Array([...BOM, ...utf8(json)]), { base64 }),
      );
      expect(answer).toMatchObject(OK);
      expect(t.calls[0]?.task.metadata).toEqual({ title: 'Café 😀 ünïcødé' });
    },
  );

  it('pretty-printed JSON (spacing and key order as sent): 200', async () => {
    const t = setup();
    const { status, ...rest } = createTestTask();
    // Status last, four-space indents, a space before each colon: bytes no serializer re-creates.
    const pretty = JSON.stringify({ ...rest, status }, null, 4).replaceAll('": ', '" :  ');
    const { answer } = await t.invoke(kind, signed(pretty));
    expect(answer).toMatchObject(OK);
    expect(t.calls).toHaveLength(1);
  });

  it('binary body (not UTF-8), signed, base64: the signature passes on the exact bytes, then 400', async () => {
    const t = setup();
    const binary = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d]);
    const { answer } = await t.invoke(kind, signed(binary, { base64: true }));
    // A 401 here would mean the bytes were changed before the check.
    expect(answer).toMatchObject(INVALID);
    expect(t.logger.text()).toMatch(/400 invalid_payload/);
    expect(t.calls).toHaveLength(0);
  });

  it('a base64 body the event does not mark as base64 is not decoded: 401', async () => {
    const t = setup();
    const request = await signed(createTestTask(), { base64: true });
    const event = eventFor(kind, request);
    (event as { isBase64Encoded: boolean }).isBase64Encoded = false;
    expect(seen(kind, await t.handler(event))).toMatchObject(UNAUTHORIZED);
    expect(t.calls).toHaveLength(0);
  });

  it('a text body the event marks as base64 is decoded: 401', async () => {
    const t = setup();
    const event = eventFor(kind, await signed(createTestTask()));
    (event as { isBase64Encoded: boolean }).isBase64Encoded = true;
    expect(seen(kind, await t.handler(event))).toMatchObject(UNAUTHORIZED);
  });

  it('duplicate: the second answer is 200 + Ittybit-Webhook-Duplicate, the handler ran once', async () => {
    const t = setup();
    const request = await signed(createTestTask());
    const first = await t.invoke(kind, request);
    const second = await t.invoke(kind, request);
    expect(first.answer).toMatchObject(OK);
    expect(second.answer).toMatchObject({
      status: 200,
      body: '{"received":true,"duplicate":true}',
    });
    expect(second.answer.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(t.calls).toHaveLength(1);
  });

  it.each([
    ['missing', () => undefined],
    ['empty', () => ''],
    ['malformed (63 hex)', (s: string) => s.slice(0, 63)],
    ['of another body', () => 'ab'.repeat(32)],
  ])('signature %s: 401 {"error":"unauthorized"}', async (_name, signature) => {
    const t = setup();
    const { answer } = await t.invoke(kind, signed(createTestTask(), { signature }));
    expect(answer).toMatchObject(UNAUTHORIZED);
    expect(t.calls).toHaveLength(0);
  });

  it('wrong secret: 401; the reason is in the log only', async () => {
    const t = setup();
    const { answer } = await t.invoke(kind, signed(createTestTask(), { secret: 'whsec_other' }));
    expect(answer).toMatchObject(UNAUTHORIZED);
    expect(t.logger.text()).toMatch(/401 invalid_signature/);
  });

  it('upper-case hex and a sha256= prefix are accepted', async () => {
    const t = setup();
    const upper = await t.invoke(
      kind,
      signed(createTestTask(), { signature: (s) => s.toUpperCase() }),
    );
    const prefixed = await t.invoke(
      kind,
      signed(createTestTask(), { signature: (s) => `sha256=${s}` }),
    );
    expect([upper.answer.status, prefixed.answer.status]).toEqual([200, 200]);
  });

  it.each([
    ['invalid JSON', '{"id":"task_1","status":'],
    ['a JSON array', '[]'],
    ['an empty body', ''],
  ])('%s, signed: 400 invalid_payload', async (_name, body) => {
    const t = setup();
    const { answer } = await t.invoke(kind, signed(body));
    expect(answer).toMatchObject(INVALID);
  });

  it.each(['GET', 'PUT', 'HEAD'])('%s: 405 + Allow: POST', async (method) => {
    const t = setup();
    const { answer } = await t.invoke(kind, { method });
    expect(answer).toMatchObject({ status: 405, body: '{"error":"method_not_allowed"}' });
    expect(answer.headers.allow).toBe('POST');
  });

  it.each([false, true])(
    'body over maxBodyBytes (base64 %s): 413, by Content-Length and without it',
    async (base64) => {
      const t = setup({ maxBodyBytes: 1024 });
      const big = await signed(
        JSON.stringify(createTestTask({ metadata: { pad: 'x'.repeat(2048) } })),
        {
          base64,
        },
      );
      expect((await t.invoke(kind, big)).answer).toMatchObject(TOO_LARGE);
      // Without a Content-Length header the body itself is measured.
      const event = eventFor(kind, big) as LambdaHttpEvent & {
        headers?: Record<string, string>;
        multiValueHeaders?: Record<string, string[]>;
      };
      for (const map of [event.headers, event.multiValueHeaders]) {
        for (const name of Object.keys(map ?? {})) {
          if (name.toLowerCase() === 'content-length') delete map?.[name];
        }
      }
      expect(seen(kind, await t.handler(event))).toMatchObject(TOO_LARGE);
      expect(t.calls).toHaveLength(0);
      // Exactly at the limit is accepted.
      const exact = await signed(new Uint8Array(1024).fill(0x20), { base64 });
      expect((await t.invoke(kind, exact)).answer).toMatchObject(INVALID);
    },
  );

  it('handler throws: 500 handler_failed (no error text), then the retry runs it again: 200', async () => {
    const t = setup();
    t.behave(() => {
      if (t.calls.length === 1) throw new Error('boom: s3 key whsec_leak');
    });
    const request = await signed(createTestTask());
    const first = await t.invoke(kind, request);
    const retry = await t.invoke(kind, request);
    expect(first.answer).toMatchObject({ status: 500, body: '{"error":"handler_failed"}' });
    expect(JSON.stringify(first.answer)).not.toContain('whsec_leak');
    expect(retry.answer).toMatchObject(OK);
    expect(t.calls).toHaveLength(2);
  });

  it('duplicate while the first still runs: 503 + Retry-After', async () => {
    const t = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    t.behave(() => gate);
    const request = await signed(createTestTask());
    const first = t.invoke(kind, request);
    await expect.poll(() => t.calls.length).toBe(1);
    const second = await t.invoke(kind, request);
    release();
    expect(second.answer).toMatchObject({ status: 503, body: '{"error":"in_progress"}' });
    expect(second.answer.headers['retry-after']).toBe('5');
    expect((await first).answer).toMatchObject(OK);
  });

  it('store unreachable: 503 store_unavailable + Retry-After', async () => {
    const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    const store: IdempotencyStore = { acquire: down, complete: down, release: down, extend: down };
    const t = setup({ idempotency: { store } });
    const { answer } = await t.invoke(kind, signed(createTestTask()));
    expect(answer).toMatchObject({ status: 503, body: '{"error":"store_unavailable"}' });
    expect(answer.headers['retry-after']).toBe('5');
  });

  it('a body parsed into an object before the handler: 500 body_consumed and a log naming the fix', async () => {
    const t = setup();
    const event = eventFor(kind, await signed(createTestTask()));
    (event as { body: unknown }).body = createTestTask();
    expect(seen(kind, await t.handler(event))).toMatchObject({
      status: 500,
      body: '{"error":"body_consumed"}',
    });
    expect(t.logger.text()).toMatch(/500 body_consumed: The event body is not a string/);
  });

  it('with { path }: another path gets a 404 in the same result shape', async () => {
    const handler = ittybitWebhook(
      { secret: SECRET, onSucceeded: () => {}, onFailed: () => {}, logger: false },
      { path: '/webhooks/ittybit' },
    );
    const elsewhere = eventFor(kind, { ...(await signed(createTestTask())), path: '/other' });
    expect(seen(kind, await handler(elsewhere))).toMatchObject({ status: 404, body: '' });
    const here = eventFor(kind, await signed(createTestTask()));
    expect(seen(kind, await handler(here))).toMatchObject(OK);
  });
});

describe('headers', () => {
  it('REST: names in any case, every value of a repeated header joined', async () => {
    const t = setup();
    const request = await signed(createTestTask());
    request.headers = [
      ['CONTENT-TYPE', 'application/json'],
      ['iTTYBIT-sIGNATURE', request.headers!.find(([n]) => n === 'Ittybit-Signature')![1]],
      ['X-Trace', 'a'],
      ['x-trace', 'b'],
    ];
    const { answer } = await t.invoke('rest', request);
    expect(answer).toMatchObject(OK);
    expect(t.calls[0]?.ctx.headers['x-trace']).toBe('a, b');
    expect(t.calls[0]?.ctx.headers['x-forwarded-for']).toBe('203.0.113.7');
  });

  it('REST with only `headers` (multiValueHeaders null): still read', async () => {
    const t = setup();
    const event: ApiGatewayV1Event = restEvent(await signed(createTestTask()));
    event.multiValueHeaders = null;
    expect(seen('rest', await t.handler(event))).toMatchObject(OK);
  });

  it('ALB multi-value: repeated header values joined', async () => {
    const t = setup();
    const request = await signed(createTestTask());
    request.headers!.push(['X-Trace', 'a'], ['X-Trace', 'b']);
    const { answer } = await t.invoke('alb-multi', request);
    expect(answer).toMatchObject(OK);
    expect(t.calls[0]?.ctx.headers['x-trace']).toBe('a, b');
  });

  it('two signature headers are not guessed between: 401', async () => {
    const t = setup();
    const request = await signed(createTestTask());
    request.headers!.push(['Ittybit-Signature', 'ab'.repeat(32)]);
    for (const kind of ['rest', 'http-api', 'alb-multi'] as const) {
      expect((await t.invoke(kind, request)).answer).toMatchObject(UNAUTHORIZED);
    }
    expect(t.calls).toHaveLength(0);
  });
});

describe('paths', () => {
  it('HTTP API on a named stage: the stage in front of rawPath still matches { path }', async () => {
    const handler = ittybitWebhook(
      { secret: SECRET, onSucceeded: () => {}, onFailed: () => {}, logger: false },
      { path: '/webhooks/ittybit' },
    );
    const event = httpApiEvent(await signed(createTestTask()), 'prod');
    expect(event.rawPath).toBe('/prod/webhooks/ittybit');
    expect(seen('http-api', await handler(event))).toMatchObject(OK);
  });

  it('a path that does not start with / is refused at creation', () => {
    expect(() =>
      ittybitWebhook({ secret: SECRET, onSucceeded: () => {}, onFailed: () => {} }, { path: 'x' }),
    ).toThrow(/path must start with "\/"/);
  });
});

describe('creation', () => {
  it("respond: 'immediately' is refused with invalid_options, explaining why", () => {
    const attempt = () =>
      ittybitWebhook({
        secret: SECRET,
        onSucceeded: () => {},
        onFailed: () => {},
        respond: 'immediately',
      });
    expect(attempt).toThrow(WebhookError);
    expect(attempt).toThrow(/respond: 'immediately' cannot work on AWS Lambda/);
    try {
      attempt();
    } catch (error) {
      expect((error as WebhookError).code).toBe('invalid_options');
      expect(String(error)).toMatch(/freezes the execution environment/);
    }
  });

  it("a ready receiver made with respond: 'immediately' is refused too", () => {
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: () => {},
      onFailed: () => {},
      respond: 'immediately',
      logger: false,
    });
    expect(() => ittybitWebhook(receiver)).toThrow(/cannot work on AWS Lambda/);
  });

  it('a ready receiver with its own store is used as it is', async () => {
    const store = new MemoryStore();
    const seenIds: string[] = [];
    const receiver = createReceiver({
      secret: SECRET,
      onSucceeded: (task) => {
        seenIds.push(task.id);
      },
      onFailed: () => {},
      idempotency: { store },
      logger: false,
    });
    // Two handlers (two execution environments) over one shared store: a duplicate is caught.
    const a = ittybitWebhook(receiver);
    const b = ittybitWebhook(receiver);
    const request = await signed(createTestTask({ id: 'task_shared' }));
    expect(seen('function-url', await a(eventFor('function-url', request)))).toMatchObject(OK);
    const again = seen('function-url', await b(eventFor('function-url', request)));
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(seenIds).toEqual(['task_shared']);
  });

  it('a missing secret throws at creation (the init error shows in the function log)', () => {
    expect(() =>
      ittybitWebhook({ secret: undefined, onSucceeded: () => {}, onFailed: () => {} }),
    ).toThrow(/`secret` is missing or empty/);
  });

  it('an event that is not an HTTP request rejects with a message naming the sources', async () => {
    const t = setup();
    const sqs = { Records: [{ messageId: '1', body: '{}', eventSource: 'aws:sqs' }] };
    await expect(t.handler(sqs as unknown as LambdaHttpEvent)).rejects.toThrow(
      /not an HTTP request from API Gateway \(REST or HTTP API\), a Lambda Function URL or an Application Load Balancer \(it has: Records\)/,
    );
  });
});

describe('types', () => {
  it('the handler fits the handler types of @types/aws-lambda for every source', () => {
    const handler = ittybitWebhook({
      secret: SECRET,
      onSucceeded: (_task, ctx) => {
        expectTypeOf(ctx.request).toEqualTypeOf<LambdaHttpEvent | undefined>();
      },
      onFailed: () => {},
    });
    // Each assignment fails to compile if an event or result type stops fitting.
    const rest: APIGatewayProxyHandler = handler;
    const httpApi: APIGatewayProxyHandlerV2 = handler;
    const functionUrl: LambdaFunctionURLHandler = handler;
    const alb: ALBHandler = handler;
    expect([rest, httpApi, functionUrl, alb].every((h) => h === handler)).toBe(true);
    expectTypeOf<APIGatewayProxyEvent>().toExtend<LambdaHttpEvent>();
    expectTypeOf<APIGatewayProxyEventV2>().toExtend<LambdaHttpEvent>();
    expectTypeOf<LambdaFunctionURLEvent>().toExtend<LambdaHttpEvent>();
    expectTypeOf<ALBEvent>().toExtend<LambdaHttpEvent>();
  });
});
