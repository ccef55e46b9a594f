import { WebhookPayloadError } from './errors.js';
import {
  type Metadata,
  type Payload,
  type PayloadShape,
  type Run,
  type Task,
  type TaskStatus,
  TOPICS,
  type Topic,
  type UnknownPayload,
  type WebhookEvent,
} from './model.js';
import {
  clean,
  copyPayload,
  firstStepError,
  isObject,
  type JsonObject,
  normalizeError,
  normalizeOutputs,
  normalizeStatus,
  toMilliseconds,
} from './normalize.js';

/** Each known topic's family (`task`, `run`) and last part (`succeeded`), split once. */
const KNOWN_TOPICS: ReadonlyMap<string, readonly [family: string, status: string]> = new Map(
  TOPICS.map((topic) => {
    const dot = topic.indexOf('.');
    return [topic, [topic.slice(0, dot), topic.slice(dot + 1)]] as const;
  }),
);

/** The topic a bare (envelope-less) task or run would have been sent under. */
function derivedTopic(object: 'task' | 'run', status: TaskStatus): Topic {
  if (status === 'succeeded') return `${object}.succeeded`;
  if (status === 'failed' || status === 'cancelled') return `${object}.failed`;
  return `${object}.updated`;
}

/** The topic of a payload: the envelope's when there is one, else derived from the status. */
export function topicOf(payload: Payload<unknown>): string | undefined {
  if (payload.object === 'unknown') return payload.topic;
  if (payload.event?.topic) return payload.event.topic;
  return derivedTopic(payload.object === 'run' ? 'run' : 'task', payload.status);
}

/** Where a field sits in the delivery, for error messages. */
function prefixOf(shape: PayloadShape): string {
  return shape === 'event' ? 'data.' : '';
}

/**
 * A task, job or run: the fields they share (id, status, metadata, times), the check that a
 * `*.succeeded` or `*.failed` topic carries a matching status, then the fields of its kind.
 * Throws for a broken field. Read from `body` (the payload itself, or an envelope's `data`) of
 * the whole delivery `json`, with the envelope's `event` and its topic's last part
 * (`topicStatus`, standing in for a missing status); passed as arguments rather than gathered in
 * an object, which would be one more allocation per delivery.
 */
function read(
  body: JsonObject,
  json: JsonObject,
  shape: PayloadShape,
  event: WebhookEvent | undefined,
  topicStatus: string | undefined,
  object: 'task' | 'job' | 'run',
): JsonObject {
  const prefix = prefixOf(shape);
  const id = body.id;
  if (typeof id !== 'string' || id === '') {
    throw new WebhookPayloadError(
      `Payload field "${prefix}id" must be a non-empty string.`,
      `${prefix}id`,
    );
  }
  const rawStatus = body.status ?? topicStatus;
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
    event?.createdAtMs ?? completedAtMs ?? toMilliseconds(body.updated_at) ?? createdAtMs;

  // Unknown fields are kept; a "__proto__" key stays a plain field, never a prototype.
  const out = copyPayload(body);
  out.id = id;
  out.object = object;
  out.status = status;
  out.rawStatus = rawStatus;
  out.metadata = clean(metadata);
  out.shape = shape;
  out.raw = json;
  if (createdAtMs !== undefined) out.createdAtMs = createdAtMs;
  if (completedAtMs !== undefined) out.completedAtMs = completedAtMs;
  if (occurredAtMs !== undefined) out.occurredAtMs = occurredAtMs;
  if (event) out.event = event;

  // A known topic's last part: `task.succeeded` and `run.succeeded` both give `succeeded`.
  if (
    (topicStatus === 'succeeded' && status !== 'succeeded') ||
    (topicStatus === 'failed' && status !== 'failed' && status !== 'cancelled')
  ) {
    throw new WebhookPayloadError(
      `A ${event?.topic} event carries a ${object === 'run' ? 'run' : 'task'} whose status is "${rawStatus}".`,
      `${prefix}status`,
    );
  }
  if (object === 'run') runFields(out, body, status, prefix);
  else taskFields(out, body, status, object);
  return out;
}

function taskFields(out: JsonObject, body: JsonObject, status: string, object: string): void {
  out.kind = typeof body.kind === 'string' ? body.kind : object === 'job' ? 'job' : 'unknown';
  if (status === 'succeeded') {
    const outputs = normalizeOutputs(body.output ?? body.outputs);
    out.outputs = outputs;
    out.output = outputs[0];
  } else if (status === 'failed') {
    out.error = normalizeError(body.error) ??
      firstStepError(body.tasks) ?? { message: 'The sender gave no error detail' };
  } else if (status === 'cancelled') {
    const error = normalizeError(body.error);
    if (error) out.error = error;
  }
}

function runFields(out: JsonObject, body: JsonObject, status: string, prefix: string): void {
  if (body.tasks !== undefined && !Array.isArray(body.tasks)) {
    throw new WebhookPayloadError(
      `Payload field "${prefix}tasks" must be an array when present.`,
      `${prefix}tasks`,
    );
  }
  if (status === 'failed' || status === 'cancelled') {
    const error = normalizeError(body.error) ?? firstStepError(body.tasks);
    if (error) out.error = error;
  }
}

/** A task's `object`: `job` for the older shape, else `task`. */
function taskObject(shape: PayloadShape, body: JsonObject): 'task' | 'job' {
  return shape === 'job' || body.object === 'job' ? 'job' : 'task';
}

function unknown(json: JsonObject, shape: PayloadShape, event?: WebhookEvent): UnknownPayload {
  const topic = event ? event.topic : typeof json.object === 'string' ? json.object : undefined;
  const id = event ? event.id : typeof json.id === 'string' ? json.id : undefined;
  const out: UnknownPayload = { object: 'unknown', shape, raw: json };
  if (id !== undefined) out.id = id;
  if (topic) out.topic = topic;
  if (event) out.event = event;
  return out;
}

/**
 * Reads a parsed JSON delivery: a task or job (the per-task webhook's bare shapes), or an event
 * envelope of any topic (`{"object":"event","kind":"run.succeeded","data":{…}}`). Keeps unknown
 * fields. A JSON object of an unknown topic or `object` comes back as an {@link UnknownPayload};
 * a known shape with a broken field throws {@link WebhookPayloadError} naming the field.
 */
export function parsePayload<M = Metadata>(json: unknown): Payload<M> {
  if (!isObject(json)) {
    throw new WebhookPayloadError(
      `Payload must be a JSON object; got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}.`,
    );
  }
  const object = json.object;
  if (object === 'event') {
    const kind = typeof json.kind === 'string' ? json.kind : json.type;
    const topic = typeof kind === 'string' ? kind : '';
    const id = typeof json.id === 'string' && json.id !== '' ? json.id : undefined;
    const createdAtMs = toMilliseconds(json.created_at);
    // Made in its final shape: one allocation, no fields added afterwards.
    const event: WebhookEvent =
      id === undefined
        ? createdAtMs === undefined
          ? { topic }
          : { topic, createdAtMs }
        : createdAtMs === undefined
          ? { topic, id }
          : { topic, id, createdAtMs };
    const data = json.data;
    const known = KNOWN_TOPICS.get(topic);
    if (!isObject(data)) {
      if (!known) return unknown(json, 'event', event);
      throw new WebhookPayloadError(`A ${topic} event has no "data" object.`, 'data');
    }
    const dataObject = data.object;
    // An envelope without a topic carries what its data says it is (a task when data says nothing).
    const family = known ? known[0] : topic === '' ? (dataObject ?? 'task') : '';
    const topicStatus = known?.[1];
    if (family === 'task' || family === 'job') {
      if (dataObject !== undefined && dataObject !== 'task' && dataObject !== 'job') {
        throw new WebhookPayloadError(
          `A ${topic} event carries data.object "${String(dataObject)}", not a task.`,
          'data.object',
        );
      }
      return read(
        data,
        json,
        'event',
        event,
        topicStatus,
        taskObject('event', data),
      ) as unknown as Task<M>;
    }
    if (family === 'run') {
      if (dataObject !== undefined && dataObject !== 'run') {
        throw new WebhookPayloadError(
          `A ${topic} event carries data.object "${String(dataObject)}", not a run.`,
          'data.object',
        );
      }
      return read(data, json, 'event', event, topicStatus, 'run') as unknown as Run<M>;
    }
    return unknown(json, 'event', event);
  }
  if (object === undefined || object === 'task' || object === 'job') {
    const shape = object === 'job' ? 'job' : 'task';
    return read(
      json,
      json,
      shape,
      undefined,
      undefined,
      taskObject(shape, json),
    ) as unknown as Task<M>;
  }
  if (object === 'run')
    return read(json, json, 'task', undefined, undefined, 'run') as unknown as Run<M>;
  return unknown(json, 'task');
}

/**
 * Reads a delivery that must be a task (the per-task webhook's shapes, or a `task.*` event).
 * Throws {@link WebhookPayloadError} for anything else.
 */
export function parseTask<M = Metadata>(json: unknown): Task<M> {
  const payload = parsePayload<M>(json);
  if (payload.object !== 'task' && payload.object !== 'job') {
    throw new WebhookPayloadError(
      `Payload is ${payload.object === 'run' ? 'a run' : 'not a task'}; use parsePayload to read any delivery.`,
    );
  }
  return payload;
}
