import { WebhookPayloadError } from './errors.js';
import type {
  Metadata,
  PayloadShape,
  Task,
  TaskError,
  TaskOutput,
  TaskStatus,
  WebhookEvent,
} from './task.js';

type JsonObject = Record<string, unknown>;

const STATUS_ALIASES: Record<string, TaskStatus> = {
  succeeded: 'succeeded',
  completed: 'succeeded',
  ready: 'succeeded',
  failed: 'failed',
  error: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  queued: 'queued',
  pending: 'pending',
  waiting: 'waiting',
  processing: 'processing',
};

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Unix time in milliseconds from a number or a date string. The sender's task timestamps are
 * milliseconds, but event envelopes count seconds: any number below 1e11 (which as milliseconds
 * would be 1973) is taken as seconds.
 */
export function toMilliseconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    return value < 1e11 ? value * 1000 : value;
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const asNumber = Number(value);
    if (Number.isFinite(asNumber)) return toMilliseconds(asNumber);
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/** Maps a sender status (any shape, any era) onto a {@link TaskStatus}; unknown ones give `unknown`. */
export function normalizeStatus(status: string): TaskStatus {
  return STATUS_ALIASES[status.toLowerCase()] ?? 'unknown';
}

function normalizeOutput(value: unknown): TaskOutput[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(normalizeOutput);
  if (typeof value === 'string') return [{ url: value }];
  if (isObject(value)) return [{ ...value }];
  return [];
}

function normalizeError(value: unknown): TaskError | undefined {
  if (typeof value === 'string' && value !== '') return { message: value };
  if (isObject(value)) {
    const message = typeof value.message === 'string' ? value.message : 'No error message given';
    return { ...value, message };
  }
  return undefined;
}

function firstStepError(steps: unknown): TaskError | undefined {
  if (!Array.isArray(steps)) return undefined;
  for (const step of steps) {
    const error = isObject(step) ? normalizeError(step.error) : undefined;
    if (error) return error;
  }
  return undefined;
}

/**
 * Turns a parsed JSON delivery into a normalised {@link Task}. Accepts the three shapes in
 * SENDER.md (task, job, event envelope) and the status aliases of older payloads; keeps unknown
 * fields. Throws {@link WebhookPayloadError} naming the field when the value is not a task.
 */
export function parseTask<M = Metadata>(json: unknown): Task<M> {
  if (!isObject(json)) {
    throw new WebhookPayloadError(
      `Payload must be a JSON object with "id" and "status"; got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}.`,
    );
  }

  let shape: PayloadShape = 'task';
  let body: JsonObject = json;
  let prefix = '';
  let event: WebhookEvent | undefined;
  if (json.object === 'event') {
    shape = 'event';
    if (!isObject(json.data)) {
      throw new WebhookPayloadError('Event payload has no "data" object holding the task.', 'data');
    }
    body = json.data;
    prefix = 'data.';
    event = {
      kind:
        typeof json.kind === 'string' ? json.kind : typeof json.type === 'string' ? json.type : '',
      ...(typeof json.id === 'string' ? { id: json.id } : {}),
      ...(toMilliseconds(json.created_at) !== undefined
        ? { createdAtMs: toMilliseconds(json.created_at) }
        : {}),
    };
  } else if (json.object === 'job') {
    shape = 'job';
  }

  const id = body.id;
  if (typeof id !== 'string' || id === '') {
    throw new WebhookPayloadError(
      `Payload field "${prefix}id" must be a non-empty string.`,
      `${prefix}id`,
    );
  }

  // An event's kind ("task.succeeded") carries the status when the data does not.
  let rawStatus = body.status;
  if (rawStatus === undefined && event?.kind.includes('.')) {
    rawStatus = event.kind.slice(event.kind.lastIndexOf('.') + 1);
  }
  if (typeof rawStatus !== 'string' || rawStatus === '') {
    throw new WebhookPayloadError(
      `Payload field "${prefix}status" must be a non-empty string.`,
      `${prefix}status`,
    );
  }

  const metadata = body.metadata ?? {};
  if (!isObject(metadata)) {
    throw new WebhookPayloadError(
      `Payload field "${prefix}metadata" must be an object when present.`,
      `${prefix}metadata`,
    );
  }

  const status = normalizeStatus(rawStatus);
  const createdAtMs = toMilliseconds(body.created_at);
  const completedAtMs = toMilliseconds(body.completed_at ?? body.finished_at);
  const occurredAtMs =
    completedAtMs ?? event?.createdAtMs ?? toMilliseconds(body.updated_at) ?? createdAtMs;

  // Plain assignments rather than conditional spreads: this runs on every delivery.
  const task: JsonObject = Object.assign({}, body);
  task.id = id;
  task.kind = typeof body.kind === 'string' ? body.kind : shape === 'job' ? 'job' : 'unknown';
  task.status = status;
  task.rawStatus = rawStatus;
  task.metadata = metadata;
  task.shape = shape;
  task.raw = json;
  if (createdAtMs !== undefined) task.createdAtMs = createdAtMs;
  if (completedAtMs !== undefined) task.completedAtMs = completedAtMs;
  if (occurredAtMs !== undefined) task.occurredAtMs = occurredAtMs;
  if (event) task.event = event;

  if (status === 'succeeded') {
    const outputs = normalizeOutput(body.output ?? body.outputs);
    task.outputs = outputs;
    task.output = outputs[0];
  } else if (status === 'failed') {
    task.error = normalizeError(body.error) ??
      firstStepError(body.tasks) ?? { message: 'The sender gave no error detail' };
  } else if (status === 'cancelled') {
    const error = normalizeError(body.error);
    if (error) task.error = error;
  }
  return task as unknown as Task<M>;
}
