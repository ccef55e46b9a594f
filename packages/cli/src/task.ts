import {
  createTestEvent,
  createTestJob,
  createTestTask,
  type SenderEvent,
  type SenderJob,
  type SenderTask,
  type SenderTopic,
  TOPICS,
} from '@ittybit-webhooks/core/testing';

/** Statuses the CLI can send. */
export const SEND_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
/** Kinds the CLI can send (the sender's set is open; these are the common ones). */
export const SEND_KINDS = ['video', 'image', 'audio'] as const;
/** Topics the CLI can send: every topic a Webhook Endpoint subscribes to. */
export const SEND_TOPICS: readonly SenderTopic[] = TOPICS;
/**
 * Body shapes the CLI can send: the event envelope of Webhook Endpoints (the default), the bare
 * task of the per-task `webhook_url`, and the job of the API reference.
 */
export const SEND_SHAPES = ['event', 'task', 'job'] as const;

/** A status the CLI sends. */
export type SendStatus = (typeof SEND_STATUSES)[number];
/** A body shape the CLI sends. */
export type SendShape = (typeof SEND_SHAPES)[number];

/** What a built task may be shaped by. */
export interface BuildTaskOptions {
  status?: SendStatus;
  kind?: (typeof SEND_KINDS)[number] | (string & {});
  metadata?: Record<string, unknown>;
  /** A fixed task id (default: a fresh `task_...` id); a success's output URL is built from it. */
  id?: string;
}

/** What a built delivery may be shaped by: a task's fields, and the body shape around it. */
export interface BuildDeliveryOptions extends BuildTaskOptions {
  /** `event` (default), `task` or `job`. */
  shape?: SendShape;
  /**
   * The event's topic (`event` shape only). Default: `task.succeeded`, or `task.failed` for a
   * `failed` or `cancelled` status. With a `run.*` topic, `id` is the run's id.
   */
  topic?: SenderTopic;
  /** A fixed event id (`event` shape only; default: a fresh `evt_...` id). */
  eventId?: string;
}

function outputOf(
  kind: string,
  id: string,
  duration: unknown,
): Record<string, unknown> | undefined {
  if (kind === 'image') {
    return { url: `https://cdn.example.com/${id}.jpg`, format: 'jpg', width: 1920, height: 1080 };
  }
  if (kind === 'audio') {
    return { url: `https://cdn.example.com/${id}.mp3`, format: 'mp3', duration };
  }
  return undefined;
}

/** Gives a finished task of a non-video kind an output of that kind. */
function fitOutput<T extends SenderTask>(task: T, kind: string): T {
  const output = task.output as Record<string, unknown> | undefined;
  const fitted = output ? outputOf(kind, task.id, output.duration) : undefined;
  if (fitted) task.output = fitted;
  return task;
}

/**
 * A task in the sender's format (the webhook guide's bare shape), with a fresh id, timestamps in
 * milliseconds, `output` on success and `error` on failure.
 */
export function buildTask(options: BuildTaskOptions = {}): SenderTask {
  const kind = options.kind ?? 'video';
  const task = createTestTask({
    status: options.status ?? 'succeeded',
    kind,
    metadata: options.metadata ?? {},
    ...(options.id ? { id: options.id } : {}),
  });
  return fitOutput(task, kind);
}

/** The topic a task of this status is delivered under: `task.succeeded` or `task.failed`. */
export function topicForStatus(status: SendStatus): SenderTopic {
  return status === 'succeeded' ? 'task.succeeded' : 'task.failed';
}

/**
 * Which `status` values go with a topic: the finished topics take the matching statuses
 * (`task.failed` also takes `cancelled`); `*.created` and `*.updated` take none (their task or
 * run is still `processing`).
 */
export function statusesForTopic(topic: SenderTopic): readonly SendStatus[] {
  if (topic === 'task.failed') return ['failed', 'cancelled'];
  if (topic.endsWith('.succeeded')) return ['succeeded'];
  if (topic.endsWith('.failed')) return ['failed'];
  return [];
}

/**
 * A delivery body in the sender's format. The `event` shape (the default) is the envelope
 * `{"id":"evt_…","object":"event","kind":<topic>,"data":{…},"created_at":<Unix seconds>}` of a
 * task or, for `run.*` topics, a run; `task` is the bare task; `job` the job shape. Throws when
 * the options contradict each other (a `topic` or `eventId` with another shape, a `status` that
 * does not go with the topic).
 */
export function buildDelivery(
  options: BuildDeliveryOptions = {},
): SenderEvent | SenderTask | SenderJob {
  const shape = options.shape ?? 'event';
  const kind = options.kind ?? 'video';
  const metadata = options.metadata ?? {};
  if (shape !== 'event') {
    if (options.topic !== undefined || options.eventId !== undefined) {
      throw new Error(
        `${options.topic !== undefined ? 'a topic' : 'an event id'} belongs to the event shape; the ${shape} shape has none (use --status).`,
      );
    }
    if (shape === 'task') return buildTask(options);
    const job = createTestJob({
      status: options.status ?? 'succeeded',
      kind,
      metadata,
      ...(options.id ? { id: options.id } : {}),
    });
    if (Array.isArray(job.output) && kind !== 'video') {
      const extension = kind === 'image' ? 'jpg' : kind === 'audio' ? 'mp3' : 'bin';
      job.output = [`https://cdn.example.com/${job.id}.${extension}`];
    }
    for (const step of job.tasks) fitOutput(step, kind);
    return job;
  }

  const topic = options.topic ?? topicForStatus(options.status ?? 'succeeded');
  if (options.status !== undefined && !statusesForTopic(topic).includes(options.status)) {
    const allowed = statusesForTopic(topic);
    throw new Error(
      allowed.length === 0
        ? `a ${topic} event carries a ${topic.split('.')[0]} still processing; drop --status.`
        : `a ${topic} event carries status ${allowed.join(' or ')}, not ${options.status}.`,
    );
  }
  const envelope = options.eventId ? { id: options.eventId } : {};
  if (topic.startsWith('run.')) {
    if (options.kind !== undefined) {
      throw new Error('a run holds tasks of several kinds; --kind applies to task topics.');
    }
    return createTestEvent(
      topic,
      { metadata, ...(options.id ? { id: options.id } : {}) },
      envelope,
    );
  }
  const event = createTestEvent(
    topic,
    {
      kind,
      metadata,
      ...(options.id ? { id: options.id } : {}),
      ...(options.status !== undefined ? { status: options.status } : {}),
    },
    envelope,
  );
  fitOutput(event.data as SenderTask, kind);
  return event;
}

/**
 * Parses `key=value` pairs into a metadata object (values stay strings; the first `=` splits).
 * Throws on an entry without `=` or with an empty key.
 */
export function parseMetadataPairs(pairs: readonly string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--metadata expects key=value, got "${pair}".`);
    metadata[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return metadata;
}
