import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseTask, toMilliseconds, WebhookPayloadError } from '../src/index.js';

const guideTask = {
  id: 'task_a1b2c3d4',
  status: 'succeeded',
  kind: 'video',
  input: 'https://clippable-app.com/projects/edit-38271.mov',
  output: {
    url: 'https://cdn.ittybit.com/clippable/export-38271.mp4',
    format: 'mp4',
    width: 1920,
    height: 1080,
    duration: 124.5,
    size: 48230912,
  },
  metadata: {},
  created_at: 1775212200000,
  completed_at: 1775212274000,
};

function payloadError(fn: () => unknown): WebhookPayloadError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookPayloadError);
    return error as WebhookPayloadError;
  }
  throw new Error('expected a WebhookPayloadError');
}

describe('parseTask: the webhook guide shape', () => {
  it('parses the sample delivery into a succeeded task with typed output', () => {
    const task = parseTask(guideTask);
    expect(task.status).toBe('succeeded');
    if (task.status !== 'succeeded') throw new Error('narrowing');
    expect(task).toMatchObject({
      id: 'task_a1b2c3d4',
      kind: 'video',
      shape: 'task',
      rawStatus: 'succeeded',
      metadata: {},
      createdAtMs: 1775212200000,
      completedAtMs: 1775212274000,
      occurredAtMs: 1775212274000,
    });
    expect(task.output?.url).toBe('https://cdn.ittybit.com/clippable/export-38271.mp4');
    expect(task.outputs).toHaveLength(1);
    expect(task.raw).toEqual(guideTask);
  });

  it('keeps unknown fields and the metadata unchanged', () => {
    const task = parseTask({ ...guideTask, metadata: { exportId: 'e_1', n: [1] }, extra: 42 });
    expect(task.metadata).toEqual({ exportId: 'e_1', n: [1] });
    expect((task as unknown as { extra: number }).extra).toBe(42);
  });

  it('gives a failed task an error object from a string reason', () => {
    const task = parseTask({ id: 'task_1', status: 'failed', kind: 'audio', error: 'Bad input' });
    expect(task.status).toBe('failed');
    if (task.status === 'failed') expect(task.error).toEqual({ message: 'Bad input' });
  });

  it('keeps a structured error and fills a missing message', () => {
    const a = parseTask({ id: 't', status: 'failed', error: { code: 'E1', message: 'boom' } });
    const b = parseTask({ id: 't', status: 'failed', error: { code: 'E2' } });
    const c = parseTask({ id: 't', status: 'failed' });
    expect(a.status === 'failed' && a.error).toEqual({ code: 'E1', message: 'boom' });
    expect(b.status === 'failed' && b.error.code).toBe('E2');
    expect(c.status === 'failed' && typeof c.error.message).toBe('string');
  });

  it.each([
    ['completed', 'succeeded'],
    ['ready', 'succeeded'],
    ['error', 'failed'],
    ['canceled', 'cancelled'],
    ['cancelled', 'cancelled'],
    ['queued', 'queued'],
    ['pending', 'pending'],
    ['waiting', 'waiting'],
    ['processing', 'processing'],
    ['PROCESSING', 'processing'],
    ['exploded', 'unknown'],
  ])('maps status %s to %s and keeps the raw status', (raw, status) => {
    const task = parseTask({ id: 'task_1', status: raw });
    expect(task.status).toBe(status);
    expect(task.rawStatus).toBe(raw);
  });

  it('treats kind as an open string', () => {
    expect(parseTask({ id: 't', status: 'succeeded', kind: 'nsfw' }).kind).toBe('nsfw');
    expect(parseTask({ id: 't', status: 'succeeded' }).kind).toBe('unknown');
  });
});

describe('parseTask: the job shape', () => {
  it('parses a job with URL-string outputs and finished_at', () => {
    const job = {
      object: 'job',
      id: 'job_123',
      status: 'completed',
      kind: 'video',
      tasks: [{ id: 'task_1', kind: 'video', status: 'completed' }],
      output: ['https://cdn.example.com/a.mp4', 'https://cdn.example.com/b.jpg'],
      metadata: { exportId: 'e_9' },
      finished_at: '2026-04-03T10:31:14.000Z',
    };
    const task = parseTask(job);
    expect(task).toMatchObject({ id: 'job_123', shape: 'job', status: 'succeeded' });
    if (task.status !== 'succeeded') throw new Error('narrowing');
    expect(task.output).toEqual({ url: 'https://cdn.example.com/a.mp4' });
    expect(task.outputs.map((o) => o.url)).toEqual([
      'https://cdn.example.com/a.mp4',
      'https://cdn.example.com/b.jpg',
    ]);
    expect(task.completedAtMs).toBe(Date.parse('2026-04-03T10:31:14.000Z'));
    expect((task as unknown as { tasks: unknown[] }).tasks).toHaveLength(1);
  });

  it('takes a failed job error from its failing step', () => {
    const task = parseTask({
      object: 'job',
      id: 'job_1',
      status: 'failed',
      tasks: [
        { id: 'a', status: 'completed' },
        { id: 'b', status: 'failed', error: 'codec' },
      ],
    });
    expect(task.status === 'failed' && task.error.message).toBe('codec');
  });
});

describe('parseTask: the event envelope', () => {
  it('takes the task from data and the envelope time from seconds', () => {
    const task = parseTask({
      object: 'event',
      id: 'evt_1',
      kind: 'task.succeeded',
      created_at: 1775212275,
      data: { ...guideTask, completed_at: undefined },
    });
    expect(task).toMatchObject({ id: 'task_a1b2c3d4', shape: 'event', status: 'succeeded' });
    expect(task.event).toEqual({
      id: 'evt_1',
      topic: 'task.succeeded',
      createdAtMs: 1775212275000,
    });
    expect(task.occurredAtMs).toBe(1775212275000);
  });

  it('derives the status from the event kind when data has none', () => {
    const task = parseTask({ object: 'event', kind: 'task.failed', data: { id: 'task_1' } });
    expect(task.status).toBe('failed');
  });

  it('names data when the envelope has no task', () => {
    expect(payloadError(() => parseTask({ object: 'event', kind: 'task.succeeded' })).field).toBe(
      'data',
    );
    expect(
      payloadError(() => parseTask({ object: 'event', data: { status: 'succeeded' } })).field,
    ).toBe('data.id');
  });
});

describe('parseTask: the objects handlers get', () => {
  it('is a plain object with the sender fields first, in order, and no empty event fields', () => {
    const task = parseTask({
      object: 'event',
      kind: 'task.succeeded',
      data: { ...guideTask, extra: 1 },
    });
    expect(Object.getPrototypeOf(task)).toBe(Object.prototype);
    expect(task.constructor).toBe(Object);
    expect(inspect(task).startsWith('{')).toBe(true);
    expect(Object.keys(task).slice(0, Object.keys(guideTask).length + 1)).toEqual([
      ...Object.keys(guideTask),
      'extra',
    ]);
    // An envelope without id or created_at gives an event with the topic only.
    expect(Object.keys(task.event ?? {})).toEqual(['topic']);
    const stamped = parseTask({
      object: 'event',
      kind: 'task.succeeded',
      created_at: 1,
      data: guideTask,
    });
    expect(stamped.event).toStrictEqual({ topic: 'task.succeeded', createdAtMs: 1000 });
    const named = parseTask({
      object: 'event',
      id: 'evt_2',
      kind: 'task.succeeded',
      data: guideTask,
    });
    expect(named.event).toStrictEqual({ topic: 'task.succeeded', id: 'evt_2' });
  });

  it('lists one output, a URL string or an object, the same way as a list of them', () => {
    const url = 'https://cdn.example.com/a.mp4';
    const one = { url, format: 'mp4' };
    for (const [output, expected] of [
      [url, [{ url }]],
      [one, [one]],
      [
        [url, one],
        [{ url }, one],
      ],
      [
        [[url], [one]],
        [{ url }, one],
      ],
      [null, []],
      [42, []],
    ] as const) {
      const task = parseTask({ id: 'task_1', status: 'succeeded', output });
      if (task.status !== 'succeeded') throw new Error('narrowing');
      expect(task.outputs).toEqual(expected);
      expect(task.output).toEqual(expected[0]);
    }
    // An object output is handed on as it was parsed, not copied.
    const task = parseTask({ id: 'task_1', status: 'succeeded', output: one });
    if (task.status !== 'succeeded') throw new Error('narrowing');
    expect(task.output).toBe(one);
  });
});

describe('parseTask: not a task', () => {
  it.each([
    [[], undefined],
    [null, undefined],
    ['text', undefined],
    [42, undefined],
    [{ status: 'succeeded' }, 'id'],
    [{ id: '', status: 'succeeded' }, 'id'],
    [{ id: 7, status: 'succeeded' }, 'id'],
    [{ id: 'task_1' }, 'status'],
    [{ id: 'task_1', status: 3 }, 'status'],
    [{ id: 'task_1', status: 'succeeded', metadata: [1] }, 'metadata'],
  ])('rejects %j naming field %s', (value, field) => {
    const error = payloadError(() => parseTask(value));
    expect(error.code).toBe('invalid_payload');
    expect(error.field).toBe(field);
    if (field) expect(error.message).toContain(field);
  });
});

describe('toMilliseconds', () => {
  it('keeps milliseconds, converts seconds and date strings, refuses junk', () => {
    expect(toMilliseconds(1775212274000)).toBe(1775212274000);
    expect(toMilliseconds(1775212274)).toBe(1775212274000);
    expect(toMilliseconds('1775212274000')).toBe(1775212274000);
    expect(toMilliseconds('2026-04-03T10:31:14Z')).toBe(Date.parse('2026-04-03T10:31:14Z'));
    expect(toMilliseconds('soon')).toBeUndefined();
    expect(toMilliseconds(-1)).toBeUndefined();
    expect(toMilliseconds(undefined)).toBeUndefined();
  });
});
