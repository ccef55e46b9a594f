// Reading the sender's values: statuses and their aliases, times, outputs and errors. Everything
// here runs on untrusted (but signed) input: no recursion over its depth, no prototype keys.
import type { TaskError, TaskOutput, TaskStatus } from './model.js';

export type JsonObject = Record<string, unknown>;

const STATUS_ALIASES: Readonly<Record<string, TaskStatus>> = Object.assign(Object.create(null), {
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
});

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Keys that would shadow what every object inherits: a `"toString": "x"` field makes String(task)
// and template literals throw. Such fields stay in `raw` but not on the objects handlers get.
const INHERITED = Object.getOwnPropertyNames(Object.prototype);

/**
 * A shallow copy with `Object.prototype` and none of its members shadowed. `Object.assign` is
 * the fast copy, but it assigns a `"__proto__"` key (which `JSON.parse` makes an own property)
 * through the prototype setter, so an object with an inherited name among its keys is copied key
 * by key, leaving those keys out. (Object spread is safe too, but measured ten times slower on
 * parsed JSON.)
 */
export function copy(value: JsonObject): JsonObject {
  let shadowed = false;
  for (const name of INHERITED) {
    if (Object.hasOwn(value, name)) {
      shadowed = true;
      break;
    }
  }
  if (!shadowed) return Object.assign({}, value);
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (!INHERITED.includes(key)) out[key] = value[key];
  }
  return out;
}

/**
 * Unix time in milliseconds from a number or a date string. The sender's task timestamps are
 * milliseconds, but event envelopes count seconds: any number below 1e11 (which as milliseconds
 * would be 1973) is taken as seconds.
 */
export function toMilliseconds(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!(Number.isFinite(value) && value > 0)) return undefined;
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

/** Outputs as a flat list: URL strings become `{ url }`. Iterative: no depth can overflow the stack. */
export function normalizeOutputs(value: unknown): TaskOutput[] {
  const out: TaskOutput[] = [];
  if (value === undefined || value === null) return out;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') out.push({ url: item });
    else if (isObject(item)) out.push(copy(item));
    else if (Array.isArray(item)) for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
  }
  return out;
}

export function normalizeError(value: unknown): TaskError | undefined {
  if (typeof value === 'string' && value !== '') return { message: value };
  if (isObject(value)) {
    const error = copy(value);
    if (typeof error.message !== 'string') error.message = 'No error message given';
    return error as TaskError;
  }
  return undefined;
}

export function firstStepError(steps: unknown): TaskError | undefined {
  if (!Array.isArray(steps)) return undefined;
  for (const step of steps) {
    const error = isObject(step) ? normalizeError(step.error) : undefined;
    if (error) return error;
  }
  return undefined;
}
