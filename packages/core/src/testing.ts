/**
 * Helpers for your own tests: build any delivery Ittybit sends (an event of each topic, a bare
 * task, a job), sign it, and get the exact body and headers to POST.
 *
 * ```ts
 * import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
 * const event = createTestEvent('task.succeeded', { metadata: { exportId: 'e1' } });
 * const { body, headers } = await createTestDelivery(event, 'whsec_test');
 * await fetch('http://127.0.0.1:3000/webhooks/ittybit', { method: 'POST', body, headers });
 * ```
 *
 * Everything built here is in the sender's format (snake_case fields, `created_at` numbers), not
 * the parsed form handlers receive.
 */
import { signPayload } from './signature.js';

export { signPayload };

/**
 * The eight topics a Webhook Endpoint subscribes to, in the order Ittybit lists them. Each
 * delivery's envelope carries one of them in `kind`.
 */
export const TOPICS = [
  'task.created',
  'task.updated',
  'task.succeeded',
  'task.failed',
  'run.created',
  'run.updated',
  'run.succeeded',
  'run.failed',
] as const;

/** One of {@link TOPICS}. */
export type SenderTopic = (typeof TOPICS)[number];

/**
 * A task in the sender's format: the bare body of the webhook guide, or the `data` of a `task.*`
 * event. Timestamps are Unix milliseconds; unknown fields are allowed.
 */
export interface SenderTask {
  id: string;
  status: string;
  /** `"task"` inside an event; absent in the webhook guide's bare body. */
  object?: string;
  kind?: string;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  /** Percent done, on tasks that have not finished. */
  progress?: number;
  metadata?: Record<string, unknown>;
  created_at?: number;
  updated_at?: number;
  completed_at?: number;
  [key: string]: unknown;
}

/**
 * A run in the sender's format: the `data` of a `run.*` event. A run groups tasks; it succeeds
 * when all of them do and fails when one of them fails. Timestamps are Unix milliseconds.
 */
export interface SenderRun {
  id: string;
  object: string;
  status: string;
  /** The run's tasks, each a {@link SenderTask} with `object: "task"`. */
  tasks: SenderTask[];
  metadata: Record<string, unknown>;
  /** Why the run failed, on a failed run. */
  error?: unknown;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

/** A job in the sender's format (the API reference's shape): the job's steps are its `tasks`. */
export interface SenderJob {
  id: string;
  object: string;
  status: string;
  kind?: string;
  input?: unknown;
  /** Output URLs, on a finished job. */
  output?: unknown;
  error?: unknown;
  tasks: SenderTask[];
  metadata: Record<string, unknown>;
  created_at: number;
  finished_at?: number;
  [key: string]: unknown;
}

/**
 * The envelope of a delivery from a Webhook Endpoint: `kind` is the topic, `data` the task or
 * run, `created_at` Unix **seconds**.
 */
export interface SenderEvent<D extends Record<string, unknown> = SenderTask | SenderRun> {
  id: string;
  object: string;
  kind: string;
  data: D;
  created_at: number;
  [key: string]: unknown;
}

let sequence = 0;

function nextId(prefix: string): string {
  sequence += 1;
  const random = crypto.randomUUID().replaceAll('-', '').slice(0, 12);
  return `${prefix}_test${sequence.toString(36)}${random}`;
}

const SUCCESS = new Set(['succeeded', 'completed', 'ready']);
const FAILURE = new Set(['failed', 'error']);
const FINISHED = new Set([...SUCCESS, ...FAILURE, 'cancelled', 'canceled']);

const FAILURE_REASON = 'Input file could not be decoded';

/**
 * A sender-format task with a fresh `task_…` id (or `overrides.id`). What it carries depends on
 * its status: a success has an `output` whose URL is built from the id, a failure an `error`, a
 * task that has not finished (`queued`, `processing`, …) a `progress` and no `completed_at`.
 * Timestamps are now, in milliseconds. `overrides` replace any field.
 */
export function createTestTask(overrides: Partial<SenderTask> = {}): SenderTask {
  const now = Date.now();
  const id = overrides.id ?? nextId('task');
  const status = overrides.status ?? 'succeeded';
  const base: SenderTask = {
    id,
    status,
    kind: 'video',
    input: 'https://example.com/uploads/source.mov',
    metadata: {},
    created_at: now - 60_000,
  };
  if (FINISHED.has(status)) {
    base.completed_at = now;
  } else {
    base.progress = status === 'processing' ? 50 : 0;
    base.updated_at = now;
  }
  if (SUCCESS.has(status)) {
    base.output = {
      url: `https://cdn.example.com/${id}.mp4`,
      format: 'mp4',
      width: 1920,
      height: 1080,
      duration: 124.5,
      size: 48_230_912,
    };
  } else if (FAILURE.has(status)) {
    base.error = FAILURE_REASON;
  }
  return { ...base, ...overrides };
}

/**
 * A sender-format run with a fresh `run_…` id (or `overrides.id`), `object: "run"`, its tasks,
 * `metadata`, and `created_at` / `updated_at` in milliseconds. Unless `overrides.tasks` is given,
 * its two tasks (a video and its thumbnail) follow the run's status: all succeeded on a
 * `succeeded` run; one succeeded and one failed on a `failed` run (which also gets an `error`);
 * one `processing` and one `queued` on a run that has not finished. The run's metadata is copied
 * onto its tasks.
 */
export function createTestRun(overrides: Partial<SenderRun> = {}): SenderRun {
  const now = Date.now();
  const id = overrides.id ?? nextId('run');
  const status = overrides.status ?? 'succeeded';
  const metadata = overrides.metadata ?? {};
  const inRun = (kind: string, taskStatus: string): SenderTask => {
    const task = createTestTask({ object: 'task', kind, status: taskStatus, metadata });
    if (kind === 'image' && task.output) {
      task.output = {
        url: `https://cdn.example.com/${task.id}.jpg`,
        format: 'jpg',
        width: 1280,
        height: 720,
      };
    }
    return task;
  };
  const finished = FINISHED.has(status);
  const tasks = SUCCESS.has(status)
    ? [inRun('video', 'succeeded'), inRun('image', 'succeeded')]
    : FAILURE.has(status)
      ? [inRun('video', 'succeeded'), inRun('image', 'failed')]
      : finished
        ? [inRun('video', 'succeeded'), inRun('image', status)]
        : [inRun('video', 'processing'), inRun('image', 'queued')];
  const run: SenderRun = {
    id,
    object: 'run',
    status,
    tasks,
    metadata,
    created_at: now - 60_000,
    updated_at: now,
  };
  if (FAILURE.has(status)) run.error = 'One or more tasks in the run failed';
  return { ...run, ...overrides };
}

/**
 * A sender-format job (the API reference's shape) with a fresh `job_…` id (or `overrides.id`):
 * `object: "job"`, one step of the job's kind and metadata in `tasks`, output URL strings on success, an `error` (on the job and
 * its step) on failure, `created_at` / `finished_at` in milliseconds.
 */
export function createTestJob(overrides: Partial<SenderJob> = {}): SenderJob {
  const now = Date.now();
  const id = overrides.id ?? nextId('job');
  const status = overrides.status ?? 'succeeded';
  const kind = overrides.kind ?? 'video';
  const step = createTestTask({ object: 'task', kind, status, metadata: overrides.metadata ?? {} });
  const job: SenderJob = {
    id,
    object: 'job',
    status,
    kind,
    input: 'https://example.com/uploads/source.mov',
    tasks: [step],
    metadata: {},
    created_at: now - 60_000,
  };
  if (FINISHED.has(status)) job.finished_at = now;
  if (SUCCESS.has(status)) job.output = [`https://cdn.example.com/${id}.mp4`];
  if (FAILURE.has(status)) job.error = FAILURE_REASON;
  return { ...job, ...overrides };
}

/** The status of the `data` an event of this topic carries by default. */
function statusOf(topic: string): string {
  const action = topic.slice(topic.lastIndexOf('.') + 1);
  return action === 'succeeded' || action === 'failed' ? action : 'processing';
}

/**
 * A sender-format event envelope of `topic`:
 * `{"id":"evt_…","object":"event","kind":topic,"data":{…},"created_at":<Unix seconds>}`.
 *
 * `data` is a task for `task.*` topics and a run for `run.*` ones, built by {@link createTestTask}
 * or {@link createTestRun} with `data` as overrides and `object` set to `"task"` / `"run"`.
 * By default it matches the topic: `*.created` and `*.updated` carry a `processing` task or run
 * (a task with `progress`: 0 on created, 50 on updated), `*.succeeded` a succeeded one (a task
 * with its `output`), `*.failed` a failed one (with its `error`; pass `{ status: 'cancelled' }` for
 * a cancelled task). `overrides` replace envelope fields (`id` for a fixed event id, so a second
 * delivery is a redelivery; `created_at`). Any other topic string builds an event of a topic this
 * version does not know (its data is a task).
 *
 * ```ts
 * createTestEvent('run.succeeded', { metadata: { batch: 'b1' } });
 * createTestEvent('task.updated', { id: 'task_1', progress: 80 }, { id: 'evt_fixed' });
 * ```
 */
export function createTestEvent(
  topic: SenderTopic | (string & {}),
  data: Partial<SenderTask> | Partial<SenderRun> = {},
  overrides: Partial<SenderEvent> = {},
): SenderEvent {
  const status = data.status ?? statusOf(topic);
  let payload: SenderTask | SenderRun;
  if (topic.startsWith('run.')) {
    payload = createTestRun({ ...(data as Partial<SenderRun>), status });
  } else {
    const progress = topic === 'task.created' ? 0 : undefined;
    const task = createTestTask({
      ...(progress !== undefined && status === 'processing' ? { progress } : {}),
      ...(data as Partial<SenderTask>),
      status,
    });
    const { id, ...fields } = task;
    payload = { id, object: data.object ?? 'task', ...fields };
  }
  return {
    id: nextId('evt'),
    object: 'event',
    kind: topic,
    data: payload,
    created_at: Math.floor(Date.now() / 1000),
    ...overrides,
  };
}

/**
 * A signed delivery of `payload` (an event, task, run or job object, or the exact body text),
 * ready to POST: the body as sent and its `content-type` and `ittybit-signature` headers.
 */
export async function createTestDelivery(
  payload: SenderEvent | SenderTask | SenderRun | SenderJob | Record<string, unknown> | string,
  secret: string,
): Promise<{ body: string; headers: Record<string, string> }> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'ittybit-signature': await signPayload(body, secret),
    },
  };
}
