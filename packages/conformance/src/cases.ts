import { Agent, request as httpRequest } from 'node:http';
import type { IdempotencyStore, Receiver, ReceiverOptions } from '@ittybit-webhooks/core';
import { createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import { expect } from 'vitest';
import type { AdapterUnderTest, Mount } from './adapters.js';
import { type Answer, type RawRequest, send } from './http.js';
import { type Call, deferred, type HandlerName, type Recorder, within } from './recorder.js';

/** The secret every case's receiver uses unless the case says otherwise. */
export const SECRET = 'whsec_conformance_0123456789';

/** What one case sees while it runs. */
export interface CaseEnv {
  url: string;
  rec: Recorder;
  /** The ready receiver handed to the adapter, for cases with `readyReceiver`. */
  receiver: Receiver | undefined;
  adapter: AdapterUnderTest;
}

/** One expected answer: status, body text, and headers (`null`: must be absent). */
export interface Expected {
  status: number;
  body: string;
  headers: Record<string, string | null>;
}

/** What a case must produce: its answers in order and how often each handler ran. */
export interface Outcome {
  answers: Expected[];
  calls: Partial<Record<HandlerName, number>>;
  /** Further checks on the handler calls and log lines. */
  check?: (env: CaseEnv) => void | Promise<void>;
  /** Why this adapter answers differently from the others (printed under the table). */
  note?: string;
}

/** One row of the suite: how to build the request(s) and what every adapter must answer. */
export interface Case {
  name: string;
  mount?: Mount;
  /** Options on top of the shared secret, recording handlers and logger. */
  options?: Partial<ReceiverOptions<Record<string, unknown>, unknown>>;
  /** Hand the adapter a ready receiver from `createReceiver` instead of options. */
  readyReceiver?: boolean;
  send: (env: CaseEnv) => Promise<Answer[]>;
  expected: Outcome;
  /** Documented exceptions, by adapter family (`express`, `fastify`, `koa`, `web`). */
  expectedFor?: Partial<Record<string, Outcome>>;
}

const JSON_TYPE = 'application/json;charset=utf-8';

const answer = (
  status: number,
  body: object,
  headers: Record<string, string | null> = {},
): Expected => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': JSON_TYPE, ...headers },
});

/** The answers of the table in docs/design.md. */
export const ANSWERS = {
  ok: answer(200, { received: true }, { 'ittybit-webhook-duplicate': null }),
  duplicate: answer(
    200,
    { received: true, duplicate: true },
    { 'ittybit-webhook-duplicate': 'true' },
  ),
  unauthorized: answer(401, { error: 'unauthorized' }),
  invalidPayload: answer(400, { error: 'invalid_payload' }),
  tooLarge: answer(413, { error: 'payload_too_large' }),
  methodNotAllowed: answer(405, { error: 'method_not_allowed' }, { allow: 'POST' }),
  inProgress: answer(503, { error: 'in_progress' }, { 'retry-after': '5' }),
  storeUnavailable: answer(503, { error: 'store_unavailable' }, { 'retry-after': '5' }),
  handlerFailed: answer(500, { error: 'handler_failed' }),
  bodyConsumed: answer(500, { error: 'body_consumed' }),
} satisfies Record<string, Expected>;

/** The answer as compared: status, body, and only the headers `expected` names. */
export function view(actual: Answer, expected: Expected): Expected {
  const headers: Record<string, string | null> = {};
  for (const name of Object.keys(expected.headers)) {
    const value = actual.headers[name];
    headers[name] =
      value === undefined
        ? null
        : name === 'content-type'
          ? value.toLowerCase().replaceAll(' ', '')
          : value;
  }
  return { status: actual.status, body: actual.body, headers };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

/** A delivery of `body` (an object is sent as compact JSON) signed like Ittybit signs it. */
async function signed(
  body: object | string | Uint8Array,
  {
    secret = SECRET,
    signature = (s: string): string | undefined => s,
    contentType = 'application/json' as string | undefined,
  } = {},
): Promise<RawRequest & { body: Uint8Array; headers: Record<string, string> }> {
  const bytes =
    body instanceof Uint8Array
      ? body
      : utf8(typeof body === 'string' ? body : JSON.stringify(body));
  const header = signature(await signPayload(bytes, secret));
  return {
    body: bytes,
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      ...(header !== undefined ? { 'ittybit-signature': header } : {}),
    },
  };
}

/** Sends one request and returns its answer as a one-element list. */
const once = async (url: string, request: RawRequest | Promise<RawRequest>) => [
  await send(url, await request),
];

/** The only call, after asserting there was exactly one. */
function onlyCall(env: CaseEnv): Call {
  expect(env.rec.calls).toHaveLength(1);
  return env.rec.calls[0]!;
}

const signatureCase = (
  name: string,
  signature: (s: string) => string | undefined,
  expected: 'ok' | 'unauthorized',
): Case => ({
  name,
  send: ({ url }) => once(url, signed(createTestTask(), { signature })),
  expected:
    expected === 'ok'
      ? { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } }
      : { answers: [ANSWERS.unauthorized], calls: {} },
});

const consumedLogged = (env: CaseEnv) => {
  // docs/design.md: body_consumed comes with "a log line naming the fix".
  expect(
    env.rec.logs.filter((line) => line.level === 'error' && line.message.includes('body_consumed')),
  ).toHaveLength(1);
};

const rejectingStore: IdempotencyStore = {
  acquire: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  complete: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  release: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
  extend: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
};

const SMALL_LIMIT = 1024;

/** Every case the suite runs against every adapter. */
export const cases: Case[] = [
  {
    name: 'signed succeeded task',
    send: ({ url }) =>
      once(
        url,
        signed(
          createTestTask({
            id: 'task_a1b2c3d4',
            output: { url: 'https://cdn.ittybit.com/clippable/export-38271.mp4', format: 'mp4' },
          }),
        ),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => {
        const { task, ctx } = onlyCall(env);
        expect(task).toMatchObject({ id: 'task_a1b2c3d4', status: 'succeeded', shape: 'task' });
        expect(task.status === 'succeeded' && task.output?.url).toBe(
          'https://cdn.ittybit.com/clippable/export-38271.mp4',
        );
        expect(ctx.key).toBe('task_a1b2c3d4:succeeded');
        expect(ctx.signal).toBeInstanceOf(AbortSignal);
        expect(ctx.signal.aborted).toBe(false);
        expect(ctx.headers['ittybit-signature']).toMatch(/^[0-9a-f]{64}$/);
        expect(
          env.adapter.isNativeRequest(ctx.request),
          'ctx.request is the framework request',
        ).toBe(true);
      },
    },
  },
  {
    name: 'signed failed task',
    send: ({ url }) => once(url, signed(createTestTask({ status: 'failed' }))),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onFailed: 1 },
      check: (env) => {
        const { task } = onlyCall(env);
        expect(task.status === 'failed' && task.error).toEqual({
          message: 'Input file could not be decoded',
        });
      },
    },
  },
  {
    name: 'signed cancelled task',
    send: ({ url }) => once(url, signed(createTestTask({ status: 'cancelled' }))),
    expected: { answers: [ANSWERS.ok], calls: { onCancelled: 1 } },
  },
  {
    name: 'signed update task (processing)',
    send: ({ url }) =>
      once(
        url,
        signed(createTestTask({ status: 'processing', progress: 40, completed_at: undefined })),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onUpdate: 1 },
      check: (env) =>
        expect(onlyCall(env).task).toMatchObject({ status: 'processing', progress: 40 }),
    },
  },
  {
    name: 'job shape',
    send: ({ url }) =>
      once(
        url,
        signed({
          object: 'job',
          id: 'job_7f3e',
          status: 'completed',
          tasks: [{ id: 'task_1', kind: 'video', status: 'completed' }],
          output: ['https://cdn.example.com/job_7f3e.mp4'],
          metadata: { exportId: 'e1' },
          created_at: 1775212200000,
          finished_at: 1775212274000,
        }),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(onlyCall(env).task).toMatchObject({
          id: 'job_7f3e',
          shape: 'job',
          status: 'succeeded',
          rawStatus: 'completed',
          output: { url: 'https://cdn.example.com/job_7f3e.mp4' },
          completedAtMs: 1775212274000,
          metadata: { exportId: 'e1' },
        }),
    },
  },
  {
    name: 'event envelope',
    send: ({ url }) => {
      const data = createTestTask({ id: 'task_evt1' });
      const { status: _status, ...withoutStatus } = data;
      return once(
        url,
        signed({
          object: 'event',
          id: 'evt_1',
          kind: 'task.succeeded',
          created_at: 1775212274,
          data: withoutStatus,
        }),
      );
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(onlyCall(env).task).toMatchObject({
          id: 'task_evt1',
          shape: 'event',
          status: 'succeeded',
          event: { id: 'evt_1', kind: 'task.succeeded', createdAtMs: 1775212274000 },
        }),
    },
  },
  {
    name: 'metadata round-trip',
    send: ({ url }) =>
      once(
        url,
        signed(
          createTestTask({
            metadata: {
              exportId: 'exp_38271',
              user: { id: 42, roles: ['editor', 'owner'] },
              tags: [],
              none: null,
              ratio: 0.5,
              flag: false,
            },
          }),
        ),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(onlyCall(env).task.metadata).toStrictEqual({
          exportId: 'exp_38271',
          user: { id: 42, roles: ['editor', 'owner'] },
          tags: [],
          none: null,
          ratio: 0.5,
          flag: false,
        }),
    },
  },
  {
    name: 'unicode body with a BOM (exact bytes)',
    send: ({ url }) => {
      const json = JSON.stringify(
        createTestTask({ metadata: { title: 'Café — 日本語 😀', note: 'naïve' } }),
      );
      const bytes = new Uint8Array([...BOM, ...utf8(json)]);
      return once(url, signed(bytes));
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(onlyCall(env).task.metadata).toEqual({ title: 'Café — 日本語 😀', note: 'naïve' }),
    },
  },
  {
    name: 'pretty-printed JSON (bytes not re-serialised)',
    send: ({ url }) => once(url, signed(JSON.stringify(createTestTask(), null, 2))),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'content-type text/plain',
    send: ({ url }) => once(url, signed(createTestTask(), { contentType: 'text/plain' })),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'no content-type',
    send: ({ url }) => once(url, signed(createTestTask(), { contentType: undefined })),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'chunked body, no Content-Length',
    send: async ({ url }) => [
      await send(url, { ...(await signed(createTestTask())), chunkSize: 64 }),
    ],
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'unicode + BOM body in 3-byte chunks (characters split)',
    send: async ({ url }) => {
      const json = JSON.stringify(createTestTask({ metadata: { title: '日本語 😀 Café' } }));
      const bytes = new Uint8Array([...BOM, ...utf8(json)]);
      return [await send(url, { ...(await signed(bytes)), chunkSize: 3 })];
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => expect(onlyCall(env).task.metadata).toEqual({ title: '日本語 😀 Café' }),
    },
  },
  {
    name: 'query string on the URL',
    send: ({ url }) => once(`${url}?source=ittybit&attempt=2`, signed(createTestTask())),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'body of exactly maxBodyBytes (Content-Length, then chunked)',
    options: { maxBodyBytes: SMALL_LIMIT },
    send: async ({ url }) => {
      const exactly = (task: object) => {
        const json = JSON.stringify({ ...task, pad: '' });
        return JSON.stringify({ ...task, pad: 'x'.repeat(SMALL_LIMIT - utf8(json).length) });
      };
      const first = exactly(createTestTask());
      const second = exactly(createTestTask());
      expect([utf8(first).length, utf8(second).length]).toEqual([SMALL_LIMIT, SMALL_LIMIT]);
      return [
        await send(url, await signed(first)),
        await send(url, { ...(await signed(second)), chunkSize: 100 }),
      ];
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.ok], calls: { onSucceeded: 2 } },
  },
  {
    name: 'large body under a raised maxBodyBytes (1.5 of 2 MiB)',
    options: { maxBodyBytes: 2 * 1024 * 1024 },
    // Over Fastify's and body-parser's own defaults: the adapter must use maxBodyBytes.
    send: ({ url }) =>
      once(url, signed(createTestTask({ metadata: { pad: 'x'.repeat(1536 * 1024) } }))),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: '20 concurrent deliveries of different tasks',
    send: async ({ url }) => {
      const requests = await Promise.all(
        Array.from({ length: 20 }, (_, i) => signed(createTestTask({ metadata: { i } }))),
      );
      return Promise.all(requests.map((request) => send(url, request)));
    },
    expected: {
      answers: Array.from({ length: 20 }, () => ANSWERS.ok),
      calls: { onSucceeded: 20 },
      check: (env) =>
        expect(
          env.rec.calls.map((call) => call.task.metadata.i).sort((a, b) => Number(a) - Number(b)),
        ).toEqual(Array.from({ length: 20 }, (_, i) => i)),
    },
  },
  {
    name: 'client aborts mid-body, then a delivery',
    send: async ({ url }) => {
      const partial = await signed(createTestTask());
      // Declares the full length, sends half, then resets the connection.
      await new Promise<void>((resolve) => {
        const req = httpRequest(url, {
          method: 'POST',
          agent: false,
          headers: { ...partial.headers, 'content-length': String(partial.body.length) },
        });
        req.on('error', () => resolve());
        req.on('response', () => resolve());
        req.write(partial.body.subarray(0, 100));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
      return [await send(url, await signed(createTestTask()))];
    },
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  signatureCase('signature missing', () => undefined, 'unauthorized'),
  signatureCase('signature empty', () => '', 'unauthorized'),
  signatureCase('signature short (63 hex)', (s) => s.slice(0, 63), 'unauthorized'),
  signatureCase('signature long (65 hex)', (s) => `${s}0`, 'unauthorized'),
  signatureCase('signature non-hex (64 chars)', (s) => `z${s.slice(1)}`, 'unauthorized'),
  signatureCase('signature upper-case hex', (s) => s.toUpperCase(), 'ok'),
  signatureCase('signature with sha256= prefix', (s) => `sha256=${s}`, 'ok'),
  {
    name: 'wrong secret',
    send: ({ url }) => once(url, signed(createTestTask(), { secret: 'whsec_someone_else' })),
    expected: { answers: [ANSWERS.unauthorized], calls: {} },
  },
  {
    name: 'rotated secret (old one still accepted)',
    options: { secret: ['whsec_new_secret', SECRET] },
    send: ({ url }) => once(url, signed(createTestTask(), { secret: SECRET })),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'empty body (signed)',
    send: ({ url }) => once(url, signed('')),
    expected: { answers: [ANSWERS.invalidPayload], calls: {} },
  },
  {
    name: 'invalid JSON (signed)',
    send: ({ url }) => once(url, signed('{"id":"task_1","status":')),
    expected: { answers: [ANSWERS.invalidPayload], calls: {} },
  },
  {
    name: 'JSON array (signed)',
    send: ({ url }) => once(url, signed([createTestTask()])),
    expected: { answers: [ANSWERS.invalidPayload], calls: {} },
  },
  {
    name: 'task without id (signed)',
    send: ({ url }) => {
      const { id: _id, ...task } = createTestTask();
      return once(url, signed(task));
    },
    expected: { answers: [ANSWERS.invalidPayload], calls: {} },
  },
  {
    name: 'oversized by Content-Length (refused before reading)',
    options: { maxBodyBytes: SMALL_LIMIT },
    // Declares 4 KiB, sends 512 bytes and never ends: only an answer from the header gets back.
    // Then the server must still take a delivery.
    send: async ({ url }) => [
      await send(url, {
        ...(await signed(new Uint8Array(512).fill(0x20))),
        declaredLength: 4 * SMALL_LIMIT,
        timeoutMs: 3000,
      }),
      await send(url, await signed(createTestTask())),
    ],
    expected: { answers: [ANSWERS.tooLarge, ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'oversized chunked, no Content-Length (counted while reading)',
    options: { maxBodyBytes: SMALL_LIMIT },
    // 8 KiB in 512-byte chunks and the body never ends: the reader must stop at the limit.
    send: async ({ url }) => [
      await send(url, {
        ...(await signed(new Uint8Array(8 * SMALL_LIMIT).fill(0x20))),
        chunkSize: 512,
        leaveOpen: true,
        timeoutMs: 3000,
      }),
      await send(url, await signed(createTestTask())),
    ],
    expected: { answers: [ANSWERS.tooLarge, ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'oversized, then a delivery on the same keep-alive connection',
    options: { maxBodyBytes: SMALL_LIMIT },
    // The refused body's bytes must not be read as the next request (or wedge the socket).
    send: async ({ url }) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const big = await signed(JSON.stringify({ pad: 'x'.repeat(4 * SMALL_LIMIT) }));
        return [
          await send(url, { ...big, agent, timeoutMs: 3000 }),
          await send(url, { ...(await signed(createTestTask())), agent, timeoutMs: 3000 }),
        ];
      } finally {
        agent.destroy();
      }
    },
    expected: { answers: [ANSWERS.tooLarge, ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'GET',
    mount: 'any-method',
    send: ({ url }) => once(url, { method: 'GET' }),
    expected: { answers: [ANSWERS.methodNotAllowed], calls: {} },
  },
  {
    name: 'duplicate after completion',
    send: async ({ url }) => {
      const request = await signed(createTestTask());
      return [await send(url, request), await send(url, request)];
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.duplicate], calls: { onSucceeded: 1 } },
  },
  {
    name: 'concurrent duplicate (503 while the first runs)',
    send: async ({ url, rec }) => {
      const gate = deferred();
      const entered = deferred();
      rec.behaviour = async () => {
        entered.resolve();
        await gate.promise;
      };
      const request = await signed(createTestTask());
      const first = send(url, request);
      try {
        await within(
          Promise.race([
            entered.promise,
            first.then((a) => {
              throw new Error(`first delivery answered ${a.status} before its handler ran`);
            }),
          ]),
          3000,
          'the handler of the first delivery was not called within 3 s',
        );
        const second = await send(url, request);
        gate.resolve();
        return [await first, second];
      } finally {
        gate.resolve();
      }
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.inProgress], calls: { onSucceeded: 1 } },
  },
  {
    name: 'handler throws, then the retry succeeds',
    send: async ({ url, rec }) => {
      rec.behaviour = () => {
        if (rec.calls.length === 1) throw new Error('boom: s3 credentials whsec_leak');
      };
      const request = await signed(createTestTask());
      return [await send(url, request), await send(url, request)];
    },
    expected: {
      answers: [ANSWERS.handlerFailed, ANSWERS.ok],
      calls: { onSucceeded: 2 },
      check: (env) => expect(env.rec.finished).toHaveLength(1),
    },
  },
  {
    name: 'store unreachable',
    options: { idempotency: { store: rejectingStore } },
    send: ({ url }) => once(url, signed(createTestTask())),
    expected: { answers: [ANSWERS.storeUnavailable], calls: {} },
  },
  {
    name: 'body consumed by another parser',
    mount: 'parsed-first',
    send: ({ url }) => once(url, signed(createTestTask())),
    expected: { answers: [ANSWERS.bodyConsumed], calls: {}, check: consumedLogged },
    expectedFor: {
      koa: {
        answers: [ANSWERS.ok],
        calls: { onSucceeded: 1 },
        note: '@koa/bodyparser keeps ctx.request.rawBody; the adapter verifies that text (issue 3), so a plain UTF-8 body is accepted',
      },
    },
  },
  {
    name: 'body consumed by another parser, BOM body',
    mount: 'parsed-first',
    send: ({ url }) => {
      const json = JSON.stringify(createTestTask({ metadata: { title: 'Café 😀' } }));
      return once(url, signed(new Uint8Array([...BOM, ...utf8(json)])));
    },
    expected: { answers: [ANSWERS.bodyConsumed], calls: {}, check: consumedLogged },
  },
  {
    name: "respond: 'immediately' (ready receiver)",
    options: { respond: 'immediately' },
    readyReceiver: true,
    send: async ({ url, rec, receiver }) => {
      const gate = deferred();
      rec.behaviour = () => gate.promise;
      try {
        // The handler is still waiting on the gate: only an early answer can arrive.
        const answers = [await send(url, { ...(await signed(createTestTask())), timeoutMs: 3000 })];
        expect(rec.calls, 'handler started before the answer').toHaveLength(1);
        expect(rec.finished, 'handler still running when answered').toHaveLength(0);
        gate.resolve();
        await within(receiver!.drain(), 3000, 'receiver.drain() did not settle');
        expect(rec.finished).toHaveLength(1);
        return answers;
      } finally {
        gate.resolve();
      }
    },
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: "respond: 'immediately', handler throws (200, onError told)",
    options: { respond: 'immediately' },
    readyReceiver: true,
    send: async ({ url, rec, receiver }) => {
      rec.behaviour = () => {
        throw new Error('boom in the background');
      };
      const answers = [await send(url, await signed(createTestTask()))];
      await within(receiver!.drain(), 3000, 'receiver.drain() did not settle');
      return answers;
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => expect(env.rec.errors.map((e) => e.phase)).toEqual(['handler']),
    },
  },
];
