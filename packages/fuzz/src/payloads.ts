/**
 * Deliveries in the sender's format (docs/sender.md), built from fast-check values only, so a
 * seed gives the same bytes on every run: bare tasks, jobs, runs and event envelopes of every
 * topic. Also the independent signer the oracle trusts (node:crypto, not the library's code).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';

/** The secret of every receiver under fuzz. */
export const SECRET = 'whsec_fuzz_5f0c2a9d41b7e3';

/** A metadata key that makes the test's handler throw on purpose (the provoked 500). */
export const THROW_KEY = 'fuzz_handler_throws_3b9e';

/** A metadata key whose number is how long the test's handler takes, in ms (provoked 503s). */
export const SLEEP_KEY = 'fuzz_handler_sleeps_ms_3b9e';

/**
 * Stands for the id of a request written inside another request's body; replaced on the wire by
 * the id, padded to the same length.
 */
export const SMUGGLED_ID = '{{smuggled}}';

/** Lowercase hex HMAC-SHA256 of the exact bytes. */
export function sign(body: Uint8Array | string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** A fixed clock (2026-01-01): no `maxAgeMs` is set, so times only need to be plausible. */
export const T0 = 1_767_225_600_000;

const HEX = '0123456789abcdef'.split('');
export const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length });

/** `prefix_` and 16 hex characters: collisions between probes are negligible. */
export const idOf = (prefix: string) => fc.noBias(hex(16)).map((h) => `${prefix}_${h}`);

export const STATUSES = [
  'succeeded',
  'completed',
  'ready',
  'failed',
  'error',
  'cancelled',
  'canceled',
  'queued',
  'pending',
  'waiting',
  'processing',
] as const;

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

const SUCCESS = new Set(['succeeded', 'completed', 'ready']);
const FAILURE = new Set(['failed', 'error']);
const FINISHED = new Set([...SUCCESS, ...FAILURE, 'cancelled', 'canceled']);

type Json = Record<string, unknown>;

const metadata = fc.dictionary(
  fc.string({ maxLength: 12 }),
  fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)),
  { maxKeys: 4 },
);

function taskOf(id: string, status: string, kind: string, meta: Json, inEvent: boolean): Json {
  const task: Json = { id };
  if (inEvent) task.object = 'task';
  Object.assign(task, {
    status,
    kind,
    input: 'https://example.com/uploads/source.mov',
    metadata: meta,
    created_at: T0 - 60_000,
  });
  if (FINISHED.has(status)) task.completed_at = T0;
  else {
    task.progress = status === 'processing' ? 50 : 0;
    task.updated_at = T0;
  }
  if (SUCCESS.has(status)) {
    task.output = {
      url: `https://cdn.example.com/${id}.mp4`,
      format: 'mp4',
      width: 1920,
      height: 1080,
      duration: 124.5,
      size: 48_230_912,
    };
  } else if (FAILURE.has(status)) {
    task.error = 'Input file could not be decoded';
  }
  return task;
}

const kind = fc.constantFrom('video', 'image', 'audio');

/** A bare task (the webhook guide's body). */
export const bareTask = fc
  .record({ id: idOf('task'), status: fc.constantFrom(...STATUSES), kind, metadata })
  .map(({ id, status, kind, metadata }) => taskOf(id, status, kind, metadata, false));

/** A job (the API reference's shape): its steps are `tasks`. */
export const job = fc
  .record({
    id: idOf('job'),
    step: idOf('task'),
    status: fc.constantFrom(...STATUSES),
    kind,
    metadata,
  })
  .map(({ id, step, status, kind, metadata }) => {
    const out: Json = {
      id,
      object: 'job',
      status,
      kind,
      input: 'https://example.com/uploads/source.mov',
      tasks: [taskOf(step, status, kind, metadata, true)],
      metadata,
      created_at: T0 - 60_000,
    };
    if (FINISHED.has(status)) out.finished_at = T0;
    if (SUCCESS.has(status)) out.output = [`https://cdn.example.com/${id}.mp4`];
    if (FAILURE.has(status)) out.error = 'Input file could not be decoded';
    return out;
  });

function runOf(id: string, status: string, taskIds: [string, string], meta: Json): Json {
  const tasks = SUCCESS.has(status)
    ? [
        taskOf(taskIds[0], 'succeeded', 'video', meta, true),
        taskOf(taskIds[1], 'succeeded', 'image', meta, true),
      ]
    : FAILURE.has(status)
      ? [
          taskOf(taskIds[0], 'succeeded', 'video', meta, true),
          taskOf(taskIds[1], 'failed', 'image', meta, true),
        ]
      : [
          taskOf(taskIds[0], 'processing', 'video', meta, true),
          taskOf(taskIds[1], 'queued', 'image', meta, true),
        ];
  const run: Json = {
    id,
    object: 'run',
    status,
    tasks,
    metadata: meta,
    created_at: T0 - 60_000,
    updated_at: T0,
  };
  if (FAILURE.has(status)) run.error = 'One or more tasks in the run failed';
  return run;
}

/** An event envelope of any topic: `data` a task or a run, `created_at` in seconds. */
export const event = fc
  .record({
    id: idOf('evt'),
    topic: fc.constantFrom(...TOPICS),
    data: idOf('task'),
    second: idOf('task'),
    cancelled: fc.boolean(),
    kind,
    metadata,
  })
  .map(({ id, topic, data, second, cancelled, kind, metadata }) => {
    const action = topic.slice(topic.indexOf('.') + 1);
    const status =
      action === 'succeeded'
        ? 'succeeded'
        : action === 'failed'
          ? cancelled && topic.startsWith('task.')
            ? 'cancelled'
            : 'failed'
          : 'processing';
    const payload = topic.startsWith('run.')
      ? runOf(data.replace('task_', 'run_'), status, [data, second], metadata)
      : taskOf(data, status, kind, metadata, true);
    return {
      id,
      object: 'event',
      kind: topic,
      data: payload,
      created_at: Math.floor(T0 / 1000),
    } as Json;
  });

/** Any delivery shape the sender has used. */
export const delivery: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: event },
  { weight: 2, arbitrary: bareTask },
  { weight: 1, arbitrary: job },
);

/** A delivery as the sender writes it: compact JSON. */
export const deliveryText = delivery.map((d) => JSON.stringify(d));

/** Every path (list of keys) to a value inside a JSON value, the root included. Iterative. */
export function pathsOf(root: unknown): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    out.push(path);
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        stack.push({ value: v, path: [...path, i] });
      });
    } else if (value && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        stack.push({ value: (value as Json)[key], path: [...path, key] });
      }
    }
  }
  return out;
}

/** A deep copy through JSON (the shapes here are plain JSON). */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Sets an own, enumerable property, even `__proto__` (so JSON.stringify writes it). */
export function setOwn(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** The value at `path` (undefined when it is not there). */
export function getAt(root: unknown, path: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object') return undefined;
    value = (value as Json)[key as string];
  }
  return value;
}
