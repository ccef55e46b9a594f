/** What a client passed as `metadata` when it created the job; it comes back unchanged. */
export type Metadata = Record<string, unknown>;

/** The topics a Webhook Endpoint can subscribe to, as Ittybit names them. */
export type Topic =
  | 'task.created'
  | 'task.updated'
  | 'task.succeeded'
  | 'task.failed'
  | 'run.created'
  | 'run.updated'
  | 'run.succeeded'
  | 'run.failed';

/** Every topic, in the order the sender documents them. */
export const TOPICS: readonly Topic[] = [
  'task.created',
  'task.updated',
  'task.succeeded',
  'task.failed',
  'run.created',
  'run.updated',
  'run.succeeded',
  'run.failed',
];

/** Statuses that end a task or run. Aliases from older payloads are mapped onto these. */
export type TerminalStatus = 'succeeded' | 'failed' | 'cancelled';

/** Statuses of work still running; `unknown` is any status this library does not know. */
export type UpdateStatus = 'queued' | 'pending' | 'waiting' | 'processing' | 'unknown';

/** Every normalised status. */
export type TaskStatus = TerminalStatus | UpdateStatus;

/** Which of the sender's payload shapes a delivery came in (docs/sender.md). */
export type PayloadShape = 'task' | 'job' | 'event';

/** One produced file. Unknown fields are kept. */
export interface TaskOutput {
  url?: string;
  format?: string;
  width?: number;
  height?: number;
  duration?: number;
  size?: number;
  [key: string]: unknown;
}

/** Why a task or run failed. A plain string from the sender becomes `{ message }`. */
export interface TaskError {
  message: string;
  code?: string;
  [key: string]: unknown;
}

/** The envelope of an event delivery (`{"object":"event","kind":…,"data":…}`). */
export interface WebhookEvent {
  /** The event id (`evt_…`): the same on every redelivery of this event. */
  id?: string;
  /** The topic as the sender wrote it, e.g. `task.succeeded` (an open string). */
  topic: string;
  /** The envelope's `created_at`, normalised from Unix seconds to milliseconds. */
  createdAtMs?: number;
}

/** Fields common to tasks and runs. */
interface Common<M> {
  /** The id (`task_…`, `job_…`, `run_…`). */
  id: string;
  /** Normalised status (`completed`/`ready` become `succeeded`, `error` becomes `failed`). */
  status: TaskStatus;
  /** The status exactly as the sender wrote it. */
  rawStatus: string;
  /** The job's metadata, unchanged (an empty object when the sender sent none). */
  metadata: M;
  /** `created_at` in Unix milliseconds. */
  createdAtMs?: number;
  /** Completion (or `finished_at`) time in Unix milliseconds. */
  completedAtMs?: number;
  /** When the sender stamped this state, in Unix milliseconds. */
  occurredAtMs?: number;
  /** Which payload shape this came in. */
  shape: PayloadShape;
  /** The envelope, for event deliveries. */
  event?: WebhookEvent;
  /**
   * The parsed JSON as delivered, unknown fields included (they are also kept on this object).
   * Nested objects (metadata, outputs) are shared with it, not copied: treat both as read-only.
   */
  raw: Readonly<Record<string, unknown>>;
}

/** Fields every task has, whatever its status. */
export interface TaskBase<M = Metadata> extends Common<M> {
  object: 'task' | 'job';
  /** `video`, `image`, `audio`, ...: an open set. */
  kind: string;
  input?: unknown;
  /** As the sender gave it. */
  created_at?: number | string;
  /** As the sender gave it. */
  completed_at?: number | string;
}

/** A task that finished and produced output. */
export interface SucceededTask<M = Metadata> extends TaskBase<M> {
  status: 'succeeded';
  /** The first output (a URL string from the sender becomes `{ url }`). */
  output?: TaskOutput;
  /** Every output, for jobs that produce several. */
  outputs: TaskOutput[];
}

/** A task that failed. */
export interface FailedTask<M = Metadata> extends TaskBase<M> {
  status: 'failed';
  error: TaskError;
}

/** A task that was cancelled before it finished. */
export interface CancelledTask<M = Metadata> extends TaskBase<M> {
  status: 'cancelled';
  error?: TaskError;
}

/** A task that has not finished (`task.created` / `task.updated`, or a bare progress update). */
export interface TaskUpdate<M = Metadata> extends TaskBase<M> {
  status: UpdateStatus;
  progress?: number;
}

/** A delivered task: narrow on `status`. */
export type Task<M = Metadata> =
  | SucceededTask<M>
  | FailedTask<M>
  | CancelledTask<M>
  | TaskUpdate<M>;

/**
 * A run: a group of tasks started together. Ittybit documents little of it beyond `id`,
 * `object` and `status`; every other field is kept as sent.
 */
export interface Run<M = Metadata> extends Common<M> {
  object: 'run';
  /** The run's tasks as the sender listed them, when it did (sender format, not normalised). */
  tasks?: readonly Record<string, unknown>[];
  /** Why the run failed (`run.failed`: one or more tasks failed), when the sender said. */
  error?: TaskError;
  progress?: number;
}

/**
 * A correctly signed JSON object this version cannot read as a task or run: an unknown topic or
 * `object`. It goes to `onUnknown`, or is acknowledged with a warning; never lost silently.
 */
export interface UnknownPayload {
  object: 'unknown';
  /** The envelope's event id, or the payload's own `id`, when there is one. */
  id?: string;
  /** The topic (`kind`) or `object` the sender wrote, when there is one. */
  topic?: string;
  shape: PayloadShape;
  event?: WebhookEvent;
  raw: Readonly<Record<string, unknown>>;
}

/** Anything a signed delivery can carry. */
export type Payload<M = Metadata> = Task<M> | Run<M> | UnknownPayload;

/** The payload type each topic carries. */
export interface TopicPayloads<M = Metadata> {
  'task.created': Task<M>;
  'task.updated': Task<M>;
  'task.succeeded': SucceededTask<M>;
  'task.failed': FailedTask<M> | CancelledTask<M>;
  'run.created': Run<M>;
  'run.updated': Run<M>;
  'run.succeeded': Run<M>;
  'run.failed': Run<M>;
}

/** True for `succeeded`, `failed` and `cancelled`. */
export function isTerminal<M>(
  task: Task<M>,
): task is SucceededTask<M> | FailedTask<M> | CancelledTask<M> {
  return task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled';
}
