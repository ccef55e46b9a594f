// What the signature decides (401s), signed bytes that cannot be read (400s), and hostile but
// correctly signed payloads that must still get their documented answer.
import { createTestEvent, createTestTask } from '@ittybit-webhooks/core/testing';
import { expect } from 'vitest';
import { ANSWERS, type Case, type CaseEnv, onlyCall } from '../case.js';
import {
  nestedArrays,
  nestedObjects,
  once,
  SECRET,
  signed,
  withRawFields,
  withRawKey,
} from '../deliveries.js';

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

const invalidCase = (name: string, body: () => string | object | Uint8Array): Case => ({
  name,
  send: ({ url }) => once(url, signed(body())),
  expected: { answers: [ANSWERS.invalidPayload], calls: {} },
});

/** The payload has `Object.prototype` and converts to a string; nothing global changed. */
function plainObjects(env: CaseEnv) {
  const { payload } = onlyCall(env);
  expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
  expect(String(payload)).toBe('[object Object]');
  expect((payload as { polluted?: unknown }).polluted).toBeUndefined();
  expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  if (payload.object !== 'unknown') {
    expect(Object.getPrototypeOf(payload.metadata)).toBe(Object.prototype);
  }
}

const DEPTH = 3000;
const DEEP_URL = 'https://cdn.example.com/deep.mp4';

export const signedCases: Case[] = [
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
    options: () => ({ secret: ['whsec_new_secret', SECRET] }),
    send: ({ url }) => once(url, signed(createTestTask(), { secret: SECRET })),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  invalidCase('empty body (signed)', () => ''),
  invalidCase('invalid JSON (signed)', () => '{"id":"task_1","status":'),
  invalidCase('not UTF-8 (signed)', () => new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
  invalidCase('JSON array (signed)', () => [createTestTask()]),
  invalidCase('task without id (signed)', () => {
    const { id: _id, ...task } = createTestTask();
    return task;
  }),
  invalidCase('task.succeeded event whose task failed (signed)', () =>
    createTestEvent('task.succeeded', { status: 'failed' }),
  ),
  invalidCase('run.failed event without data (signed)', () => {
    const { data: _data, ...event } = createTestEvent('run.failed');
    return event;
  }),
  {
    name: `output nested ${DEPTH} levels deep (arrays)`,
    send: ({ url }) =>
      once(
        url,
        signed(withRawFields(createTestTask(), { output: nestedArrays(DEPTH, `"${DEEP_URL}"`) })),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect((onlyCall(env).payload as { output?: { url?: string } }).output?.url).toBe(DEEP_URL),
    },
  },
  {
    name: `output and metadata nested ${DEPTH} levels deep (objects)`,
    send: ({ url }) =>
      once(
        url,
        signed(
          withRawFields(createTestTask(), {
            output: nestedObjects(DEPTH, '{}'),
            metadata: nestedObjects(DEPTH, '1'),
          }),
        ),
      ),
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: '"__proto__": {...} in a task, its metadata and output',
    send: ({ url }) => {
      const proto = '{"polluted":"yes","toString":"no"}';
      const task = createTestTask({ id: 'task_proto' });
      const json = withRawKey(
        {
          ...task,
          metadata: JSON.parse(withRawKey({ a: 1 }, '__proto__', proto)),
          output: JSON.parse(
            withRawKey({ url: 'https://cdn.example.com/p.mp4' }, '__proto__', proto),
          ),
        },
        '__proto__',
        proto,
      );
      return once(url, signed(json));
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => {
        plainObjects(env);
        const { payload } = onlyCall(env);
        expect(payload).toMatchObject({ id: 'task_proto', metadata: { a: 1 } });
        const output = (payload as { output?: object }).output!;
        expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
        expect(String(output)).toBe('[object Object]');
      },
    },
  },
  {
    name: '"__proto__": null in an event envelope and its task',
    send: ({ url }) => {
      const event = createTestEvent('task.updated');
      const data = JSON.parse(withRawKey(event.data, '__proto__', 'null'));
      return once(url, signed(withRawKey({ ...event, data }, '__proto__', 'null')));
    },
    expected: { answers: [ANSWERS.ok], calls: { onUpdate: 1 }, check: plainObjects },
  },
];
