// Topics, runs, unknown payloads, event-id keys, freshness, hostile payloads and the observability
// hooks (onDelivery, structured logs, telemetry, dead letters): what a handler and a log reader see.
import { describe, expect, it, vi } from 'vitest';
import {
  createReceiver,
  type DeliveryOutcome,
  type HandlerContext,
  MemoryDeadLetters,
  type Payload,
  type ReceiverOptions,
  TOPICS,
  verifyWebhook,
  WebhookPayloadError,
  WebhookVerificationError,
} from '../src/index.js';
import { createTestEvent, createTestJob, createTestTask } from '../src/testing.js';
import { captureLogger, SECRET, signedRequest, sleep } from './helpers.js';

type Calls = Record<string, [Payload, HandlerContext][]>;

/** A receiver with a recording handler for every topic slot. */
function setup(overrides: Partial<ReceiverOptions> = {}) {
  const calls: Calls = {};
  const record =
    (name: string) =>
    (payload: unknown, ctx: HandlerContext): void => {
      calls[name] ??= [];
      calls[name].push([payload as Payload, ctx]);
    };
  const logger = captureLogger();
  const outcomes: DeliveryOutcome[] = [];
  const receiver = createReceiver({
    secret: SECRET,
    logger,
    onSucceeded: record('onSucceeded'),
    onFailed: record('onFailed'),
    onUpdate: record('onUpdate'),
    on: {
      'run.created': record('run.created'),
      'run.updated': record('run.updated'),
      'run.succeeded': record('run.succeeded'),
      'run.failed': record('run.failed'),
    },
    onDelivery: (outcome) => outcomes.push(outcome),
    ...overrides,
  });
  const count = (name: string) => calls[name]?.length ?? 0;
  return { receiver, calls, count, logger, outcomes };
}

describe('routing by topic', () => {
  it.each([
    ['task.created', 'onUpdate', 'task'],
    ['task.updated', 'onUpdate', 'task'],
    ['task.succeeded', 'onSucceeded', 'task'],
    ['task.failed', 'onFailed', 'task'],
    ['run.created', 'run.created', 'run'],
    ['run.updated', 'run.updated', 'run'],
    ['run.succeeded', 'run.succeeded', 'run'],
    ['run.failed', 'run.failed', 'run'],
  ])('%s reaches %s as a %s, with the envelope in ctx', async (topic, handler, object) => {
    const { receiver, calls, count, outcomes } = setup();
    const event = createTestEvent(topic);
    const res = await receiver.handle(await signedRequest(event));
    expect(res.status).toBe(200);
    expect(count(handler)).toBe(1);
    const total = Object.values(calls).reduce((n, list) => n + list.length, 0);
    expect(total).toBe(1);
    const [payload, ctx] = calls[handler]![0]!;
    expect(payload.object).toBe(object);
    expect(ctx.topic).toBe(topic);
    expect(ctx.event).toEqual({
      id: event.id,
      topic,
      createdAtMs: (event.created_at as number) * 1000,
    });
    expect(ctx.key).toBe(event.id);
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 200, code: 'received', topic, eventId: event.id }),
    ]);
    expect(TOPICS).toContain(topic);
  });

  it('never gives a run to a task handler, even when only task handlers exist', async () => {
    const onSucceeded = vi.fn();
    const logger = captureLogger();
    const receiver = createReceiver({ secret: SECRET, onSucceeded, onFailed() {}, logger });
    const res = await receiver.handle(await signedRequest(createTestEvent('run.succeeded')));
    expect(res.status).toBe(200);
    expect(onSucceeded).not.toHaveBeenCalled();
    expect(logger.text()).toMatch(
      /debug \[ittybit-webhooks\] 200 unhandled: Acknowledged run_\w+ \(run\.succeeded\): no handler/,
    );
  });

  it('routes bare task and job shapes by status, keyed id:status', async () => {
    const { receiver, calls, count } = setup();
    const task = createTestTask({ status: 'failed' });
    await receiver.handle(await signedRequest(task));
    await receiver.handle(await signedRequest(createTestJob()));
    await receiver.handle(await signedRequest(createTestTask({ status: 'processing' })));
    expect(count('onFailed')).toBe(1);
    expect(calls.onFailed![0]![1].key).toBe(`${task.id}:failed`);
    expect(calls.onFailed![0]![1].event).toBeUndefined();
    expect(count('onSucceeded')).toBe(1);
    expect(calls.onSucceeded![0]![0].object).toBe('job');
    expect(count('onUpdate')).toBe(1);
  });

  it('prefers onCancelled for a cancelled task.failed, and on[topic] over onUpdate', async () => {
    const onCancelled = vi.fn();
    const updated = vi.fn();
    const { receiver, count } = setup({ onCancelled, on: { 'task.updated': updated } });
    await receiver.handle(
      await signedRequest(createTestEvent('task.failed', { status: 'cancelled' })),
    );
    await receiver.handle(await signedRequest(createTestEvent('task.updated')));
    await receiver.handle(await signedRequest(createTestEvent('task.created')));
    expect(onCancelled).toHaveBeenCalledTimes(1);
    expect(count('onFailed')).toBe(0);
    expect(updated).toHaveBeenCalledTimes(1);
    expect(count('onUpdate')).toBe(1);
  });

  it('400 for a known topic whose data contradicts it', async () => {
    const { receiver, logger } = setup();
    const event = createTestEvent('task.succeeded', { status: 'failed', error: 'x' });
    expect((await receiver.handle(await signedRequest(event))).status).toBe(400);
    expect(logger.text()).toMatch(
      /A task\.succeeded event carries a task whose status is "failed"/,
    );
    for (const [topic, status, says] of [
      [
        'task.failed',
        'succeeded',
        /A task\.failed event carries a task whose status is "succeeded"/,
      ],
      ['run.succeeded', 'failed', /A run\.succeeded event carries a run whose status is "failed"/],
      [
        'run.failed',
        'processing',
        /A run\.failed event carries a run whose status is "processing"/,
      ],
    ] as const) {
      const contradicted = createTestEvent(topic, { status });
      expect((await receiver.handle(await signedRequest(contradicted))).status).toBe(400);
      expect(logger.text()).toMatch(says);
    }
    // A cancelled task or run is a failure's status too.
    for (const topic of ['task.failed', 'run.failed'] as const) {
      const cancelled = createTestEvent(topic, { status: 'cancelled' });
      expect((await receiver.handle(await signedRequest(cancelled))).status).toBe(200);
    }
  });
});

describe('idempotency keyed by delivery', () => {
  it('runs two distinct task.updated events of one task; a redelivered event runs once', async () => {
    const { receiver, count } = setup();
    const data = { id: 'task_same', status: 'processing' };
    const first = createTestEvent('task.updated', data);
    const second = createTestEvent('task.updated', data);
    expect((await receiver.handle(await signedRequest(first))).status).toBe(200);
    expect((await receiver.handle(await signedRequest(second))).status).toBe(200);
    const again = await receiver.handle(await signedRequest(first));
    expect(again.headers['ittybit-webhook-duplicate']).toBe('true');
    expect(count('onUpdate')).toBe(2);
  });
});

describe('unknown but authentic payloads', () => {
  it('answers 200 and warns with the event id and topic when there is no onUnknown', async () => {
    const { receiver, logger, outcomes } = setup();
    const event = createTestEvent('media.created', {}, { id: 'evt_unknown_1' });
    const res = await receiver.handle(await signedRequest(event));
    expect(res.status).toBe(200);
    expect(logger.text()).toMatch(
      /warn \[ittybit-webhooks\] 200 unknown: .*event evt_unknown_1, topic media\.created/,
    );
    expect(outcomes[0]).toMatchObject({ code: 'unknown', eventId: 'evt_unknown_1' });
  });

  it('hands it to onUnknown, deduplicated by event id', async () => {
    const onUnknown = vi.fn();
    const { receiver } = setup({ onUnknown });
    const request = await signedRequest({ object: 'event', id: 'evt_x', kind: 'x.y', data: {} });
    await receiver.handle(request);
    expect((await receiver.handle(request)).headers['ittybit-webhook-duplicate']).toBe('true');
    expect(onUnknown).toHaveBeenCalledTimes(1);
    expect(onUnknown.mock.calls[0]![0]).toMatchObject({ object: 'unknown', topic: 'x.y' });
  });

  it('reads an unknown object as unknown, and a non-object as a 400', async () => {
    const onUnknown = vi.fn();
    const { receiver } = setup({ onUnknown });
    await receiver.handle(await signedRequest({ object: 'media', id: 'med_1' }));
    expect(onUnknown.mock.calls[0]![0]).toMatchObject({ topic: 'media', id: 'med_1' });
    expect((await receiver.handle(await signedRequest([] as never))).status).toBe(400);
  });
});

describe('freshness', () => {
  it("checks the envelope's time, and refuses one too far in the future", async () => {
    const { receiver, logger } = setup({ maxAgeMs: 60_000 });
    const now = Math.floor(Date.now() / 1000);
    const old = createTestEvent('task.succeeded', {}, { created_at: now - 600 });
    const future = createTestEvent('task.succeeded', {}, { created_at: now + 3600 });
    const fine = createTestEvent('task.succeeded', {}, { created_at: now + 30 });
    expect((await receiver.handle(await signedRequest(old))).status).toBe(401);
    expect((await receiver.handle(await signedRequest(future))).status).toBe(401);
    expect(logger.text()).toMatch(/stamped 3[56]\d\d s in the future, over maxClockSkewMs/);
    expect((await receiver.handle(await signedRequest(fine))).status).toBe(200);
  });
});

describe('hostile but signed payloads get a final answer', () => {
  it('reads an output nested 5,000 levels deep without overflowing the stack', async () => {
    const { receiver, count } = setup();
    const deep = `${'['.repeat(5000)}"https://x"${']'.repeat(5000)}`;
    const body = JSON.stringify(createTestTask()).replace(/"output":\{[^}]*\}/, `"output":${deep}`);
    const res = await receiver.handle(await signedRequest(body as never));
    expect(res.status).toBe(200);
    expect(count('onSucceeded')).toBe(1);
  });

  it('leaves keys named like inherited members in raw only: the task stays a plain object', async () => {
    const { receiver, calls } = setup();
    const hostile = [
      '"__proto__":{"polluted":true}',
      '"__proto__":null',
      '"toString":"x","valueOf":1',
      '"constructor":{"prototype":{"polluted":true}},"hasOwnProperty":0',
    ];
    for (const fields of hostile) {
      const task = createTestTask({ metadata: { exportId: 'e1' } });
      const body = JSON.stringify(task)
        .replace(/^\{/, `{${fields},`)
        .replace('"metadata":{', `"metadata":{${fields},`)
        .replace('"output":{', `"output":{${fields},`);
      expect((await receiver.handle(await signedRequest(body as never))).status).toBe(200);
    }
    expect(calls.onSucceeded).toHaveLength(hostile.length);
    for (const [task] of calls.onSucceeded!) {
      const succeeded = task as Payload & { output?: object; metadata: object };
      for (const value of [succeeded, succeeded.metadata, succeeded.output]) {
        expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
        expect(String(value)).toBe('[object Object]');
        expect(`${value}`).toBe('[object Object]');
        expect(Object.hasOwn(value as object, 'toString')).toBe(false);
      }
      expect(succeeded.metadata).toEqual({ exportId: 'e1' });
      expect((task as { polluted?: unknown }).polluted).toBeUndefined();
      expect(Object.keys(task.raw).length).toBeGreaterThan(0);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('never throws from verify functions, whatever the argument types', async () => {
    const { receiver } = setup();
    for (const body of [undefined, null, 42, {}, []]) {
      await expect(receiver.verify(body as never, 'x')).rejects.toBeInstanceOf(WebhookPayloadError);
    }
    for (const header of [42, {}, [], Symbol('x')]) {
      await expect(receiver.verify('{}', header as never)).rejects.toBeInstanceOf(
        WebhookVerificationError,
      );
    }
  });
});

describe('verifyWebhook', () => {
  it('verifies from headers or the signature alone, without handlers', async () => {
    const event = createTestEvent('run.failed');
    const { body, headers } = await signedRequest(event).then((r) => ({
      body: r.body as Uint8Array,
      headers: r.headers as Record<string, string>,
    }));
    const fromHeaders = await verifyWebhook(body, headers, { secret: SECRET });
    expect(fromHeaders).toMatchObject({ object: 'run', status: 'failed' });
    const fromValue = await verifyWebhook(body, headers['ittybit-signature'], { secret: SECRET });
    expect(fromValue.event?.id).toBe(event.id);
    await expect(verifyWebhook(body, headers, { secret: 'other' })).rejects.toMatchObject({
      code: 'invalid_signature',
    });
  });
});

describe('observability', () => {
  it('tells onDelivery once per request, refusals included, without changing the answer', async () => {
    const { receiver, outcomes } = setup({
      onDelivery: (outcome) => {
        outcomes.push(outcome);
        throw new Error('broken hook');
      },
    });
    const request = await signedRequest(createTestEvent('task.succeeded'));
    await receiver.handle(request);
    await receiver.handle(request);
    await receiver.handle({ method: 'GET', headers: {}, body: '' });
    await receiver.handle({ method: 'POST', headers: {}, body: '{}' });
    expect(outcomes.map((o) => [o.status, o.code, o.duplicate])).toEqual([
      [200, 'received', false],
      [200, 'duplicate', true],
      [405, 'method_not_allowed', false],
      [401, 'missing_signature', false],
    ]);
    expect(outcomes[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('gives a structured logger an object of fields and a message', async () => {
    const lines: [unknown, unknown][] = [];
    const structured = {
      child: () => structured,
      error: (a: unknown, b: unknown) => lines.push([a, b]),
      warn: (a: unknown, b: unknown) => lines.push([a, b]),
    };
    const { receiver } = setup({ logger: structured });
    const event = createTestEvent('task.succeeded', { status: 'failed', error: 'x' });
    await receiver.handle(await signedRequest(event));
    expect(lines[0]![0]).toMatchObject({
      lib: 'ittybit-webhooks',
      status: 400,
      code: 'invalid_payload',
    });
    expect(lines[0]![1]).toMatch(/^400 invalid_payload: /);
  });

  it('runs the handler inside the telemetry probe and ends it with the outcome', async () => {
    const events: string[] = [];
    const { receiver } = setup({
      telemetry: {
        start: ({ method }) => {
          events.push(`start ${method}`);
          return {
            handler: (run, info) => {
              events.push(`handler ${info.topic}`);
              return run();
            },
            end: (outcome) => events.push(`end ${outcome.status} ${outcome.code}`),
          };
        },
      },
    });
    await receiver.handle(await signedRequest(createTestEvent('run.updated')));
    expect(events).toEqual(['start POST', 'handler run.updated', 'end 200 received']);
  });

  it('keeps a failed delivery as a dead letter and clears it when a retry succeeds', async () => {
    const deadLetters = new MemoryDeadLetters();
    let fail = 2;
    const { receiver } = setup({
      deadLetters,
      onSucceeded: () => {
        if (fail-- > 0) throw new Error('downstream 502');
      },
    });
    const event = createTestEvent('task.succeeded');
    const request = await signedRequest(event);
    expect((await receiver.handle(request)).status).toBe(500);
    expect((await receiver.handle(request)).status).toBe(500);
    const letter = await deadLetters.get(event.id as string);
    expect(letter).toMatchObject({
      attempts: 2,
      topic: 'task.succeeded',
      eventId: event.id,
      error: 'Error: downstream 502',
      headers: {
        'ittybit-signature': (request.headers as Record<string, string>)['ittybit-signature'],
      },
    });
    expect(Buffer.from(letter!.body).equals(Buffer.from(request.body as Uint8Array))).toBe(true);
    expect((await receiver.handle(request)).status).toBe(200);
    expect(deadLetters.size).toBe(0);
  });
});

describe('serverless platforms', () => {
  it('warns once at creation that the in-memory store is per instance', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'receiver');
    try {
      const { logger } = setup();
      const second = setup();
      const withStore = setup({ idempotency: false });
      const all = [logger, second.logger, withStore.logger].map((l) => l.text()).join('\n');
      expect(
        all.match(/Running on AWS Lambda with the default in-memory idempotency store/g),
      ).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
    await sleep(0);
  });
});

describe("the request's own logger", () => {
  it('logs through it when the options name no logger, and through the option when they do', async () => {
    const lines: unknown[][] = [];
    const requestLog = {
      child: () => requestLog,
      error: (...args: unknown[]) => lines.push(args),
      warn: (...args: unknown[]) => lines.push(args),
    };
    const receiver = createReceiver({ secret: SECRET, onSucceeded() {}, onFailed() {} });
    await receiver.handle({ method: 'POST', headers: {}, body: '{}', logger: requestLog });
    expect(lines).toHaveLength(1);
    expect(lines[0]![0]).toMatchObject({ code: 'missing_signature', status: 401 });
    const own = captureLogger();
    const explicit = createReceiver({
      secret: SECRET,
      onSucceeded() {},
      onFailed() {},
      logger: own,
    });
    await explicit.handle({ method: 'POST', headers: {}, body: '{}', logger: requestLog });
    expect(lines).toHaveLength(1);
    expect(own.text()).toMatch(/401 missing_signature/);
  });
});
