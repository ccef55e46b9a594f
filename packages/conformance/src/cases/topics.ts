// Every payload the sender produces through every adapter: the eight topics of an event
// envelope, the bare task and job shapes, routing by topic, unknown payloads and deduplication.
import type { Topic } from '@ittybit-webhooks/core';
import {
  createTestEvent,
  createTestJob,
  createTestRun,
  createTestTask,
  type SenderEvent,
  type SenderJob,
  type SenderTask,
  TOPICS,
} from '@ittybit-webhooks/core/testing';
import { expect } from 'vitest';
import { ANSWERS, type Case, type CaseEnv, onlyCall } from '../case.js';
import { deliver, signed } from '../deliveries.js';
import { send } from '../http.js';
import type { HandlerName } from '../recorder.js';

/** Who gets each topic with the recording options: task handlers, and `on` for runs. */
const HANDLER_OF: Record<Topic, HandlerName> = {
  'task.created': 'onUpdate',
  'task.updated': 'onUpdate',
  'task.succeeded': 'onSucceeded',
  'task.failed': 'onFailed',
  'run.created': "on['run.created']",
  'run.updated': "on['run.updated']",
  'run.succeeded': "on['run.succeeded']",
  'run.failed': "on['run.failed']",
};

const sentEvent = (env: CaseEnv, index = 0) => env.sent[index] as SenderEvent;

/** What a handler must get for a delivered event: its data as a task or run, and the envelope. */
function expectEvent(env: CaseEnv, topic: string, event = sentEvent(env)) {
  const { payload, ctx } = onlyCall(env);
  const envelope = { id: event.id, topic, createdAtMs: event.created_at * 1000 };
  expect(payload).toMatchObject({
    object: topic.startsWith('run.') ? 'run' : 'task',
    id: event.data.id,
    shape: 'event',
    event: envelope,
  });
  // The envelope's event id is the idempotency key: every event runs once.
  expect({ topic: ctx.topic, key: ctx.key, event: ctx.event }).toEqual({
    topic,
    key: event.id,
    event: envelope,
  });
  return payload;
}

const topicCase = (topic: Topic): Case => ({
  name: `event ${topic}`,
  send: (env) => deliver(env, createTestEvent(topic, { metadata: { exportId: 'exp_1' } })),
  expected: {
    answers: [ANSWERS.ok],
    calls: { [HANDLER_OF[topic]]: 1 },
    check: (env) => {
      const payload = expectEvent(env, topic);
      const data = sentEvent(env).data;
      if (payload.object === 'unknown') throw new Error('read as an unknown payload');
      expect(payload.metadata).toEqual({ exportId: 'exp_1' });
      const action = topic.slice(topic.indexOf('.') + 1);
      expect(payload.status).toBe(
        action === 'succeeded' || action === 'failed' ? action : 'processing',
      );
      if (payload.object === 'run') {
        expect(payload.tasks).toHaveLength(2);
        if (action === 'failed') expect(payload.error?.message).toBe(data.error);
      } else if (payload.status === 'succeeded') {
        expect(payload.output?.url).toBe(`https://cdn.example.com/${data.id}.mp4`);
      } else if (payload.status === 'failed') {
        expect(payload.error).toEqual({ message: 'Input file could not be decoded' });
      } else if (payload.status === 'processing') {
        expect(payload.progress).toBe(topic === 'task.created' ? 0 : 50);
      }
    },
  },
});

/** What a handler must get for a bare task or job: derived topic, `id:status` key, no envelope. */
function expectBare(env: CaseEnv, topic: string, shape: 'task' | 'job') {
  const { payload, ctx } = onlyCall(env);
  const sent = env.sent[0] as SenderTask | SenderJob;
  expect(payload).toMatchObject({ object: shape, id: sent.id, shape });
  expect(payload.event).toBeUndefined();
  const status = payload.object === 'unknown' ? '' : payload.status;
  expect({ topic: ctx.topic, key: ctx.key, event: ctx.event }).toEqual({
    topic,
    key: `${sent.id}:${status}`,
    event: undefined,
  });
  return payload;
}

const logged =
  (level: string, ...parts: string[]) =>
  (env: CaseEnv) =>
    expect(
      env.rec.lines(level, ...parts),
      `one ${level} line naming ${parts.join(', ')}`,
    ).toHaveLength(1);

export const topicCases: Case[] = [
  ...TOPICS.map(topicCase),
  {
    name: 'task.failed event of a cancelled task (onCancelled)',
    send: (env) => deliver(env, createTestEvent('task.failed', { status: 'cancelled' })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onCancelled: 1 },
      check: (env) =>
        expect(expectEvent(env, 'task.failed')).toMatchObject({
          status: 'cancelled',
          rawStatus: 'cancelled',
        }),
    },
  },
  {
    name: 'task.updated event of a succeeded task (onUpdate, never onSucceeded)',
    send: (env) => deliver(env, createTestEvent('task.updated', { status: 'succeeded' })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onUpdate: 1 },
      check: (env) =>
        expect(expectEvent(env, 'task.updated')).toMatchObject({ status: 'succeeded' }),
    },
  },
  {
    name: "on['task.updated'] takes task.updated before onUpdate",
    options: (rec) => ({ on: { 'task.updated': rec.handler("on['task.updated']") } }),
    send: async (env) => [
      ...(await deliver(env, createTestEvent('task.updated'))),
      ...(await deliver(env, createTestEvent('task.created'))),
    ],
    expected: {
      answers: [ANSWERS.ok, ANSWERS.ok],
      calls: { "on['task.updated']": 1, onUpdate: 1 },
      check: (env) =>
        expect(env.rec.calls.map((c) => [c.name, c.ctx.topic])).toEqual([
          ["on['task.updated']", 'task.updated'],
          ['onUpdate', 'task.created'],
        ]),
    },
  },
  {
    name: "on['task.succeeded'] in place of onSucceeded (events and bare tasks)",
    options: (rec) => ({
      onSucceeded: undefined,
      on: { 'task.succeeded': rec.handler("on['task.succeeded']") },
    }),
    send: async (env) => [
      ...(await deliver(env, createTestEvent('task.succeeded'))),
      ...(await deliver(env, createTestTask())),
    ],
    expected: { answers: [ANSWERS.ok, ANSWERS.ok], calls: { "on['task.succeeded']": 2 } },
  },
  {
    name: 'run.succeeded with no run handler: 200, debug log, no task handler',
    options: () => ({ on: {} }),
    send: (env) => deliver(env, createTestEvent('run.succeeded')),
    expected: {
      answers: [ANSWERS.ok],
      calls: {},
      check: (env) => logged('debug', (env.sent[0] as SenderEvent).data.id, 'run.succeeded')(env),
    },
  },
  {
    name: 'unknown topic: 200, warn log naming its event id and topic',
    send: (env) => deliver(env, createTestEvent('media.transcoded')),
    expected: {
      answers: [ANSWERS.ok],
      calls: {},
      check: (env) => logged('warn', sentEvent(env).id, 'media.transcoded')(env),
    },
  },
  {
    name: 'unknown topic goes to onUnknown when given',
    options: (rec) => ({ onUnknown: rec.handler('onUnknown') }),
    send: (env) => deliver(env, createTestEvent('media.transcoded', { metadata: { a: 1 } })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onUnknown: 1 },
      check: (env) => {
        const { payload, ctx } = onlyCall(env);
        const event = sentEvent(env);
        expect(payload).toMatchObject({
          object: 'unknown',
          id: event.id,
          topic: 'media.transcoded',
          shape: 'event',
          raw: { data: { metadata: { a: 1 } } },
        });
        expect(ctx.topic).toBe('media.transcoded');
        expect(env.rec.lines('warn')).toEqual([]);
      },
    },
  },
  {
    name: 'unknown object without an envelope: 200, warn log naming its id and object',
    send: (env) => deliver(env, { id: 'wdg_1f2e', object: 'widget', status: 'ready' }),
    expected: { answers: [ANSWERS.ok], calls: {}, check: logged('warn', 'wdg_1f2e', 'widget') },
  },
  {
    name: 'bare succeeded task',
    send: (env) =>
      deliver(
        env,
        createTestTask({
          id: 'task_a1b2c3d4',
          output: { url: 'https://cdn.ittybit.com/clippable/export-38271.mp4', format: 'mp4' },
        }),
      ),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => {
        const payload = expectBare(env, 'task.succeeded', 'task');
        expect(payload).toMatchObject({
          status: 'succeeded',
          output: { url: 'https://cdn.ittybit.com/clippable/export-38271.mp4' },
        });
        const { ctx } = onlyCall(env);
        expect(ctx.signal).toBeInstanceOf(AbortSignal);
        expect(ctx.signal.aborted).toBe(false);
        expect(ctx.headers['ittybit-signature']).toMatch(/^[0-9a-f]{64}$/);
        expect(
          env.adapter.isNativeRequest(ctx.request),
          'ctx.request is the framework request',
        ).toBe(true);
        expect(env.rec.outcomes).toEqual([
          expect.objectContaining({
            status: 200,
            code: 'received',
            topic: 'task.succeeded',
            id: 'task_a1b2c3d4',
            key: 'task_a1b2c3d4:succeeded',
            duplicate: false,
          }),
        ]);
      },
    },
  },
  {
    name: 'bare failed task',
    send: (env) => deliver(env, createTestTask({ status: 'failed' })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onFailed: 1 },
      check: (env) =>
        expect(expectBare(env, 'task.failed', 'task')).toMatchObject({
          error: { message: 'Input file could not be decoded' },
        }),
    },
  },
  {
    name: 'bare cancelled task (onCancelled)',
    send: (env) => deliver(env, createTestTask({ status: 'cancelled' })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onCancelled: 1 },
      check: (env) => void expectBare(env, 'task.failed', 'task'),
    },
  },
  {
    name: 'bare processing task (onUpdate)',
    send: (env) => deliver(env, createTestTask({ status: 'processing', progress: 40 })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onUpdate: 1 },
      check: (env) =>
        expect(expectBare(env, 'task.updated', 'task')).toMatchObject({
          status: 'processing',
          progress: 40,
        }),
    },
  },
  {
    name: 'job shape, succeeded',
    send: (env) =>
      deliver(env, createTestJob({ id: 'job_7f3e', status: 'completed', metadata: { e: 1 } })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) =>
        expect(expectBare(env, 'task.succeeded', 'job')).toMatchObject({
          status: 'succeeded',
          rawStatus: 'completed',
          output: { url: 'https://cdn.example.com/job_7f3e.mp4' },
          metadata: { e: 1 },
        }),
    },
  },
  {
    name: 'job shape, failed',
    send: (env) => deliver(env, createTestJob({ status: 'failed' })),
    expected: {
      answers: [ANSWERS.ok],
      calls: { onFailed: 1 },
      check: (env) =>
        expect(expectBare(env, 'task.failed', 'job')).toMatchObject({
          error: { message: 'Input file could not be decoded' },
        }),
    },
  },
  {
    name: "run without an envelope (on['run.succeeded'])",
    send: (env) => deliver(env, createTestRun()),
    expected: {
      answers: [ANSWERS.ok],
      calls: { "on['run.succeeded']": 1 },
      check: (env) => {
        const { payload, ctx } = onlyCall(env);
        expect(payload).toMatchObject({ object: 'run', shape: 'task', status: 'succeeded' });
        expect(ctx.topic).toBe('run.succeeded');
      },
    },
  },
  {
    name: 'two task.updated events of one task, same status: both run',
    send: async (env) => {
      const data = { id: 'task_same1', status: 'processing', progress: 50 };
      return [
        ...(await deliver(env, createTestEvent('task.updated', data))),
        ...(await deliver(env, createTestEvent('task.updated', data))),
      ];
    },
    expected: {
      answers: [ANSWERS.ok, ANSWERS.ok],
      calls: { onUpdate: 2 },
      check: (env) =>
        expect(env.rec.calls.map((c) => c.ctx.key)).toEqual([
          sentEvent(env, 0).id,
          sentEvent(env, 1).id,
        ]),
    },
  },
  {
    name: 'a redelivered event runs once (200 + duplicate header)',
    send: async (env) => {
      const request = await signed(createTestEvent('task.updated'));
      return [await send(env.url, request), await send(env.url, request)];
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.duplicate], calls: { onUpdate: 1 } },
  },
  {
    name: 'a redelivered event, serialised differently, still runs once (keyed by event id)',
    send: async (env) => {
      const event = createTestEvent('task.succeeded');
      return [
        await send(env.url, await signed(event)),
        await send(env.url, await signed(JSON.stringify(event, null, 2))),
      ];
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.duplicate], calls: { onSucceeded: 1 } },
  },
  {
    name: 'a bare task delivered twice runs once',
    send: async ({ url }) => {
      const request = await signed(createTestTask());
      return [await send(url, request), await send(url, request)];
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.duplicate], calls: { onSucceeded: 1 } },
  },
];
