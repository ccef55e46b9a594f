import { describe, expect, it } from 'vitest';
import { verifySignature } from '../src/signature.js';
import {
  createTestDelivery,
  createTestEvent,
  createTestJob,
  createTestRun,
  createTestTask,
  type SenderRun,
  type SenderTask,
  signPayload,
  TOPICS,
} from '../src/testing.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('TOPICS', () => {
  it('lists the eight topics a Webhook Endpoint subscribes to', () => {
    expect(TOPICS).toEqual([
      'task.created',
      'task.updated',
      'task.succeeded',
      'task.failed',
      'run.created',
      'run.updated',
      'run.succeeded',
      'run.failed',
    ]);
  });
});

describe('createTestEvent', () => {
  it.each(TOPICS)('%s: the envelope, created_at in seconds, data of the right object', (topic) => {
    const before = nowSeconds();
    const event = createTestEvent(topic);
    expect(Object.keys(event)).toEqual(['id', 'object', 'kind', 'data', 'created_at']);
    expect(event.id).toMatch(/^evt_[a-z0-9]+$/);
    expect(event).toMatchObject({ object: 'event', kind: topic });
    expect(Number.isInteger(event.created_at)).toBe(true);
    expect(event.created_at).toBeGreaterThanOrEqual(before);
    expect(event.created_at).toBeLessThanOrEqual(nowSeconds());
    const object = topic.split('.')[0]!;
    expect(event.data.object).toBe(object);
    expect(event.data.id).toMatch(new RegExp(`^${object}_[a-z0-9]+$`));
    expect(Object.keys(event.data).slice(0, 2)).toEqual(['id', 'object']);
  });

  it('task.created and task.updated carry a processing task with progress, not finished', () => {
    const created = createTestEvent('task.created').data as SenderTask;
    const updated = createTestEvent('task.updated').data as SenderTask;
    expect(created).toMatchObject({ status: 'processing', progress: 0 });
    expect(updated).toMatchObject({ status: 'processing', progress: 50 });
    for (const task of [created, updated]) {
      expect(task.output).toBeUndefined();
      expect(task.error).toBeUndefined();
      expect(task.completed_at).toBeUndefined();
      expect(typeof task.updated_at).toBe('number');
    }
  });

  it('task.succeeded carries the output, task.failed the error', () => {
    const succeeded = createTestEvent('task.succeeded').data as SenderTask;
    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.output).toMatchObject({ url: `https://cdn.example.com/${succeeded.id}.mp4` });
    expect(succeeded.error).toBeUndefined();
    const failed = createTestEvent('task.failed').data as SenderTask;
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual(expect.any(String));
    expect(failed.output).toBeUndefined();
    const cancelled = createTestEvent('task.failed', { status: 'cancelled' }).data as SenderTask;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error).toBeUndefined();
  });

  it('run.* carries a run whose tasks follow its status', () => {
    const created = createTestEvent('run.created').data as SenderRun;
    const updated = createTestEvent('run.updated').data as SenderRun;
    for (const run of [created, updated]) {
      expect(run.status).toBe('processing');
      expect(run.tasks.map((t) => t.status)).toEqual(['processing', 'queued']);
    }
    const succeeded = createTestEvent('run.succeeded').data as SenderRun;
    expect(succeeded.status).toBe('succeeded');
    expect(succeeded.tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded']);
    expect(succeeded.error).toBeUndefined();
    const failed = createTestEvent('run.failed').data as SenderRun;
    expect(failed.status).toBe('failed');
    expect(failed.tasks.map((t) => t.status)).toEqual(['succeeded', 'failed']);
    expect(failed.error).toEqual(expect.any(String));
  });

  it('takes data fields and envelope fields; a fixed event id makes a redelivery', () => {
    const first = createTestEvent(
      'task.succeeded',
      { id: 'task_fixed', metadata: { exportId: 'e1' } },
      { id: 'evt_fixed', created_at: 1_735_689_886 },
    );
    const again = createTestEvent('task.succeeded', { id: 'task_fixed' }, { id: 'evt_fixed' });
    expect(first).toMatchObject({
      id: 'evt_fixed',
      created_at: 1_735_689_886,
      data: {
        id: 'task_fixed',
        object: 'task',
        metadata: { exportId: 'e1' },
        output: { url: 'https://cdn.example.com/task_fixed.mp4' },
      },
    });
    expect(again.id).toBe(first.id);
    const run = createTestEvent('run.succeeded', { id: 'run_fixed', metadata: { batch: 'b1' } });
    expect(run.data).toMatchObject({ id: 'run_fixed', object: 'run', metadata: { batch: 'b1' } });
    expect((run.data as SenderRun).tasks.every((t) => t.metadata?.batch === 'b1')).toBe(true);
  });

  it('gives every event a fresh id, and two updates of one task distinct event ids', () => {
    const a = createTestEvent('task.updated', { id: 'task_same', progress: 20 });
    const b = createTestEvent('task.updated', { id: 'task_same', progress: 80 });
    expect(a.data.id).toBe(b.data.id);
    expect(a.id).not.toBe(b.id);
    expect([a.data.progress, b.data.progress]).toEqual([20, 80]);
  });

  it('builds events of topics and objects this version does not know', () => {
    const event = createTestEvent('media.created', { object: 'media' });
    expect(event).toMatchObject({ kind: 'media.created', data: { object: 'media' } });
  });
});

describe('createTestTask', () => {
  it('builds the output URL from a given id', () => {
    const task = createTestTask({ id: 'task_given' });
    expect(task.output).toMatchObject({ url: 'https://cdn.example.com/task_given.mp4' });
  });

  it('is the webhook guide bare task: no object, timestamps in milliseconds', () => {
    const task = createTestTask();
    expect(task.object).toBeUndefined();
    expect(task.id).toMatch(/^task_/);
    expect(task.completed_at).toBeGreaterThan(1e12);
    expect(task.created_at).toBeLessThan(task.completed_at!);
  });

  it('a cancelled task is finished, without output or error', () => {
    const task = createTestTask({ status: 'cancelled' });
    expect(task.completed_at).toEqual(expect.any(Number));
    expect(task.output).toBeUndefined();
    expect(task.error).toBeUndefined();
  });
});

describe('createTestRun', () => {
  it('a run_ id, object run, tasks, metadata, created_at and updated_at', () => {
    const run = createTestRun({ metadata: { batch: 'b7' } });
    expect(run).toMatchObject({ object: 'run', status: 'succeeded', metadata: { batch: 'b7' } });
    expect(run.id).toMatch(/^run_/);
    expect(run.tasks).toHaveLength(2);
    expect(run.tasks.every((t) => t.object === 'task' && t.id.startsWith('task_'))).toBe(true);
    expect(run.updated_at).toBeGreaterThanOrEqual(run.created_at);
  });

  it('takes tasks as given', () => {
    const tasks = [createTestTask({ object: 'task', status: 'failed' })];
    expect(createTestRun({ status: 'failed', tasks }).tasks).toBe(tasks);
  });
});

describe('createTestJob', () => {
  it('the API reference job: object job, steps in tasks, output URLs, finished_at', () => {
    const job = createTestJob({ id: 'job_given' });
    expect(job).toMatchObject({
      id: 'job_given',
      object: 'job',
      status: 'succeeded',
      output: ['https://cdn.example.com/job_given.mp4'],
    });
    expect(job.tasks).toHaveLength(1);
    expect(job.finished_at).toEqual(expect.any(Number));
    const failed = createTestJob({ status: 'failed' });
    expect(failed.error).toEqual(expect.any(String));
    expect(failed.tasks[0]!.error).toEqual(expect.any(String));
    expect(failed.output).toBeUndefined();
  });
});

describe('createTestDelivery', () => {
  it('signs the exact JSON body of an event', async () => {
    const event = createTestEvent('run.succeeded');
    const { body, headers } = await createTestDelivery(event, 'whsec_test');
    expect(body).toBe(JSON.stringify(event));
    expect(headers['content-type']).toBe('application/json');
    expect(await verifySignature(body, headers['ittybit-signature'], 'whsec_test')).toBe(true);
    expect(await verifySignature(body, headers['ittybit-signature'], 'other')).toBe(false);
  });

  it('sends a string body byte for byte (the known-answer vector)', async () => {
    const { body, headers } = await createTestDelivery(
      '{"obj1":"hello","obj2":"world"}',
      'test_secret',
    );
    expect(body).toBe('{"obj1":"hello","obj2":"world"}');
    expect(headers['ittybit-signature']).toBe(
      'bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363',
    );
    expect(await signPayload(body, 'test_secret')).toBe(headers['ittybit-signature']);
  });
});
