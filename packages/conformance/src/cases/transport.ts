// How the bytes arrive: encodings, framing, content types, sizes, slow and aborted bodies, methods,
// and another body parser in front of the adapter.
import { Agent, request as httpRequest, METHODS } from 'node:http';
import { createTestTask } from '@ittybit-webhooks/core/testing';
import { expect } from 'vitest';
import { ANSWERS, type Case, type CaseEnv, type Expected, onlyCall } from '../case.js';
import { BOM, once, signed, utf8 } from '../deliveries.js';
import { send } from '../http.js';

const SMALL_LIMIT = 1024;

const consumedLogged = (env: CaseEnv) => {
  // docs/design.md: body_consumed comes with "a log line naming the fix".
  expect(env.rec.lines('error', 'body_consumed')).toHaveLength(1);
};

/**
 * Content types a delivery may carry and that no adapter may refuse: the signature, not the
 * header, says what the body is.
 */
const CONTENT_TYPES: [label: string, value: string | undefined][] = [
  ['text/plain', 'text/plain'],
  ['none', undefined],
  ['empty', ''],
  ['invalid (no slash)', 'json'],
  ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
  ['multipart/form-data with a boundary', 'multipart/form-data; boundary=x'],
  ['application/json; charset=utf-16 (a lie)', 'application/json; charset=utf-16'],
  ['application/json;;; (odd parameters)', 'application/json;;;'],
  ['application/octet-stream', 'application/octet-stream'],
];

/**
 * Every method Node hands to a request listener but POST. CONNECT is not one of them: Node gives
 * it to the server's `connect` event (a proxy tunnel), never to a listener.
 */
const OTHER_METHODS = METHODS.filter((method) => method !== 'POST' && method !== 'CONNECT');

/** A HEAD answer has the headers of the answer and no body. */
const headless = (expected: Expected): Expected =>
  expected.body === null ? expected : { ...expected, body: '' };

const methodAnswers = (each: (method: string) => Expected) =>
  OTHER_METHODS.map((method) => (method === 'HEAD' ? headless(each(method)) : each(method)));

/** Express answers OPTIONS on a path it has routes for with the methods they take. */
const expressOptions: Expected = { status: 200, body: 'POST', headers: { allow: 'POST' } };

const methodCase = (method: string): Case => ({
  name: method,
  send: ({ url }) => once(url, { method }),
  expected: {
    answers: [method === 'HEAD' ? headless(ANSWERS.methodNotAllowed) : ANSWERS.methodNotAllowed],
    calls: {},
  },
  expectedFor: {
    route: {
      answers: [ANSWERS.notFound],
      calls: {},
      note: `a framework router's post route does not match ${method}: the framework answers 404 before the adapter runs (mount with { path } for 405)`,
    },
  },
});

/** A signed delivery padded to about `bytes`, so that trickling it takes a while. */
async function padded(bytes: number) {
  return signed(createTestTask({ metadata: { pad: 'x'.repeat(bytes) } }));
}

export const transportCases: Case[] = [
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
        expect(onlyCall(env).payload).toMatchObject({
          metadata: {
            exportId: 'exp_38271',
            user: { id: 42, roles: ['editor', 'owner'] },
            tags: [],
            none: null,
            ratio: 0.5,
            flag: false,
          },
        }),
    },
  },
  {
    name: 'unicode body with a BOM (exact bytes)',
    send: ({ url }) => {
      const json = JSON.stringify(
        createTestTask({ metadata: { title: 'Café — 日本語 😀', note: 'naïve' } }),
      );
      return once(url, signed(new Uint8Array([...BOM, ...utf8(json)])));
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(onlyCall(env).payload).toMatchObject({
          metadata: { title: 'Café — 日本語 😀', note: 'naïve' },
        }),
    },
  },
  {
    name: 'pretty-printed JSON (bytes not re-serialised)',
    send: ({ url }) => once(url, signed(JSON.stringify(createTestTask(), null, 2))),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  ...CONTENT_TYPES.map(
    ([label, contentType]): Case => ({
      name: `content-type ${label}`,
      send: ({ url }) => once(url, signed(createTestTask(), { contentType })),
      expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
    }),
  ),
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
      check: (env) =>
        expect(onlyCall(env).payload).toMatchObject({ metadata: { title: '日本語 😀 Café' } }),
    },
  },
  {
    name: 'query string on the URL',
    send: ({ url }) => once(`${url}?source=ittybit&attempt=2`, signed(createTestTask())),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'body of exactly maxBodyBytes (Content-Length, then chunked)',
    options: () => ({ maxBodyBytes: SMALL_LIMIT }),
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
    options: () => ({ maxBodyBytes: 2 * 1024 * 1024 }),
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
          env.rec.calls
            .map((call) => (call.payload as unknown as { metadata: { i: number } }).metadata.i)
            .sort((a, b) => a - b),
        ).toEqual(Array.from({ length: 20 }, (_, i) => i)),
    },
  },
  {
    name: 'client aborts mid-body, then a delivery',
    send: async ({ url }) => {
      const partial = await signed(createTestTask());
      // Declares the full length, sends 100 bytes, then resets the connection.
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
  {
    name: 'oversized by Content-Length (refused before reading)',
    options: () => ({ maxBodyBytes: SMALL_LIMIT }),
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
    options: () => ({ maxBodyBytes: SMALL_LIMIT }),
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
    options: () => ({ maxBodyBytes: SMALL_LIMIT }),
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
    name: 'slow body past bodyTimeoutMs (Content-Length): 408, then a delivery',
    options: () => ({ bodyTimeoutMs: 300 }),
    // ~1 KB in 16-byte chunks every 40 ms: about 2.5 s to arrive whole, far past the 300 ms.
    send: async ({ url }) => {
      const slow = await padded(800);
      const started = Date.now();
      const first = await send(url, {
        ...slow,
        declaredLength: slow.body.length,
        chunkSize: 16,
        chunkDelayMs: 40,
        timeoutMs: 4000,
      });
      expect(Date.now() - started, 'answered soon after bodyTimeoutMs').toBeLessThan(2000);
      return [first, await send(url, await signed(createTestTask()))];
    },
    expected: { answers: [ANSWERS.bodyTimeout, ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: 'slow chunked body past bodyTimeoutMs: 408, then a delivery',
    options: () => ({ bodyTimeoutMs: 300 }),
    send: async ({ url }) => {
      const slow = await padded(800);
      return [
        await send(url, { ...slow, chunkSize: 16, chunkDelayMs: 40, timeoutMs: 4000 }),
        await send(url, await signed(createTestTask())),
      ];
    },
    expected: { answers: [ANSWERS.bodyTimeout, ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  methodCase('GET'),
  methodCase('HEAD'),
  methodCase('PROPFIND'),
  {
    name: `every other method Node accepts (${OTHER_METHODS.length})`,
    send: async ({ url }) => {
      const answers = [];
      for (const method of OTHER_METHODS) answers.push(await send(url, { method }));
      return answers;
    },
    expected: { answers: methodAnswers(() => ANSWERS.methodNotAllowed), calls: {} },
    expectedFor: {
      'express route': {
        answers: methodAnswers((method) =>
          method === 'OPTIONS' ? expressOptions : ANSWERS.notFound,
        ),
        calls: {},
        note: 'app.post: Express answers 404 to other methods, and OPTIONS itself (200, Allow: POST)',
      },
      route: {
        answers: methodAnswers(() => ANSWERS.notFound),
        calls: {},
        note: "a router's post route: the framework answers 404 to other methods",
      },
      'web path': {
        answers: methodAnswers((method) =>
          method === 'TRACE'
            ? { status: 501, body: 'bridge: not a Fetch Request', headers: {} }
            : ANSWERS.methodNotAllowed,
        ),
        calls: {},
        note: 'the Fetch standard forbids a TRACE Request, so it never reaches a Web handler: the runtime answers (here the node:http bridge, 501)',
      },
    },
  },
  {
    name: 'body consumed by another parser',
    start: { parsedFirst: true },
    send: ({ url }) => once(url, signed(createTestTask())),
    expected: { answers: [ANSWERS.bodyConsumed], calls: {}, check: consumedLogged },
    expectedFor: {
      koa: {
        answers: [ANSWERS.ok],
        calls: { onSucceeded: 1 },
        note: '@koa/bodyparser keeps ctx.request.rawBody; the adapter verifies that text when its length matches Content-Length, so a plain UTF-8 body is accepted',
      },
    },
  },
  {
    name: 'body consumed by another parser, BOM body',
    start: { parsedFirst: true },
    send: ({ url }) => {
      const json = JSON.stringify(createTestTask({ metadata: { title: 'Café 😀' } }));
      return once(url, signed(new Uint8Array([...BOM, ...utf8(json)])));
    },
    expected: { answers: [ANSWERS.bodyConsumed], calls: {}, check: consumedLogged },
  },
];
