/** What a client passed as `metadata` when it created the job; it comes back unchanged. */
export type Metadata = Record<string, unknown>;

/** Statuses that end a task. Aliases from older payloads are mapped onto these. */
export type TerminalStatus = 'succeeded' | 'failed' | 'cancelled';

/** Statuses of a task that is still running; `unknown` is any status this library does not know. */
export type UpdateStatus = 'queued' | 'pending' | 'waiting' | 'processing' | 'unknown';

/** Every normalised status. */
export type TaskStatus = TerminalStatus | UpdateStatus;

/** Which of the sender's payload shapes a delivery came in (see SENDER.md). */
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

/** Why a task failed. A plain string from the sender becomes `{ message }`. */
export interface TaskError {
  message: string;
  code?: string;
  [key: string]: unknown;
}

/** The envelope of an event-shaped delivery. */
export interface WebhookEvent {
  id?: string;
  /** e.g. `task.succeeded`. */
  kind: string;
  /** The envelope's `created_at`, normalised from seconds to milliseconds. */
  createdAtMs?: number;
}

/** Fields every task has, whatever its status. */
export interface TaskBase<M = Metadata> {
  /** The task (or job) id, e.g. `task_a1b2c3d4`. Deduplicate on this. */
  id: string;
  /** `video`, `image`, `audio`, ...: an open set. */
  kind: string;
  /** Normalised status (`completed`/`ready` become `succeeded`, `error` becomes `failed`). */
  status: TaskStatus;
  /** The status exactly as the sender wrote it. */
  rawStatus: string;
  input?: unknown;
  /** The job's metadata, unchanged (an empty object when the sender sent none). */
  metadata: M;
  /** As the sender gave it. */
  created_at?: number | string;
  /** As the sender gave it. */
  completed_at?: number | string;
  /** `created_at` in Unix milliseconds. */
  createdAtMs?: number;
  /** Completion (or `finished_at`) time in Unix milliseconds. */
  completedAtMs?: number;
  /** When the sender stamped this state, in Unix milliseconds: what `maxAgeMs` is checked against. */
  occurredAtMs?: number;
  /** Which payload shape this came in. */
  shape: PayloadShape;
  /** The envelope, for event-shaped deliveries. */
  event?: WebhookEvent;
  /** The parsed JSON as delivered, unknown fields included. */
  raw: Readonly<Record<string, unknown>>;
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

/** A task that has not finished (sent to endpoints subscribed to update events). */
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

/** True for `succeeded`, `failed` and `cancelled`. */
export function isTerminal<M>(
  task: Task<M>,
): task is SucceededTask<M> | FailedTask<M> | CancelledTask<M> {
  return task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled';
}
