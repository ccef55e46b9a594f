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
const INHERITED: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * A shallow copy with `Object.prototype` and none of its members shadowed. `Object.assign` is
 * the fast copy, but it assigns a `"__proto__"` key (which `JSON.parse` makes an own property)
 * through the prototype setter, so an object with an inherited name among its keys is copied key
 * by key, leaving those keys out. (Object spread is safe too, but measured ten times slower on
 * parsed JSON.)
 */
export function copy(value: JsonObject): JsonObject {
  return shadows(value) ? without(value) : Object.assign({}, value);
}

/**
 * {@link copy} for the task or run a payload is made from, into an object with room for every
 * field the payload ends up holding (the sender's plus the ones the payload adds), so that a
 * payload is one allocation: an `{}` literal holds four fields in itself and keeps the rest in a
 * separate store that grows three fields at a time. Used for payloads only (see PayloadObject).
 */
export function copyPayload(value: JsonObject): JsonObject {
  return shadows(value) ? without(value) : Object.assign(new PayloadObject(), value);
}

/**
 * Makes plain objects: `Object.prototype` is their prototype, `Object` their `constructor`, and
 * no field is added by the constructor, so a copy keeps the sender's key order. V8 sizes the
 * objects a constructor makes from the `this.x =` assignments written in its body (whether they
 * run or not) plus a margin, then trims the size to what its first few objects used. The
 * assignments below never run (`size` is never passed); they are there so that a payload's 20 or
 * so fields fit. Smaller objects made first would trim it below a payload, hence payloads only.
 */
const PayloadObject = function PayloadObject(this: JsonObject, size?: true): void {
  if (size) {
    this.f0 = this.f1 = this.f2 = this.f3 = this.f4 = this.f5 = this.f6 = this.f7 = 0;
    this.f8 = this.f9 = this.f10 = this.f11 = this.f12 = this.f13 = this.f14 = this.f15 = 0;
    this.f16 = this.f17 = this.f18 = this.f19 = this.f20 = this.f21 = this.f22 = this.f23 = 0;
  }
} as unknown as new () => JsonObject;
PayloadObject.prototype = Object.prototype;

/**
 * `value` itself when none of its keys shadows an `Object.prototype` member, else a copy without
 * those keys: for nested objects (metadata, outputs) that are handed on as they were parsed.
 */
export function clean(value: JsonObject): JsonObject {
  return shadows(value) ? without(value) : value;
}

const PROTO = Object.prototype as unknown as JsonObject;

/**
 * The usual members of `Object.prototype`, read by name: each read finds an own property of that
 * name first, and no JSON value can be the built-in function itself, so a difference is an own
 * key. Three times faster than walking the keys, measured on parsed deliveries.
 */
function shadowsUsual(v: JsonObject): boolean {
  // No prototype check: JSON.parse makes plain objects, and another prototype (or none) changes
  // one of the reads below, which then takes the copy that keeps own keys only.
  return (
    // An own "__proto__" (JSON.parse makes one) is read instead of the prototype getter, and no
    // JSON value is Object.prototype itself. (A read the compiler folds, where Object.hasOwn is a
    // call.)
    // biome-ignore lint/suspicious/noProto: it is the own key being looked for, not the prototype.
    v.__proto__ !== PROTO ||
    v.toString !== PROTO.toString ||
    v.valueOf !== PROTO.valueOf ||
    v.hasOwnProperty !== PROTO.hasOwnProperty ||
    v.constructor !== PROTO.constructor ||
    v.isPrototypeOf !== PROTO.isPrototypeOf ||
    v.propertyIsEnumerable !== PROTO.propertyIsEnumerable ||
    v.toLocaleString !== PROTO.toLocaleString ||
    v.__defineGetter__ !== PROTO.__defineGetter__ ||
    v.__defineSetter__ !== PROTO.__defineSetter__ ||
    v.__lookupGetter__ !== PROTO.__lookupGetter__ ||
    v.__lookupSetter__ !== PROTO.__lookupSetter__
  );
}

function shadowsAny(value: JsonObject): boolean {
  // for-in walks the object's cached key list without allocating one (Object.keys would).
  for (const key in value) {
    if (INHERITED.has(key)) return true;
  }
  return false;
}

const USUAL = [
  'constructor',
  '__defineGetter__',
  '__defineSetter__',
  'hasOwnProperty',
  '__lookupGetter__',
  '__lookupSetter__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toString',
  'valueOf',
  '__proto__',
  'toLocaleString',
];

// A runtime whose Object.prototype has other members gets the walk over every key.
const shadows =
  INHERITED.size === USUAL.length && USUAL.every((name) => INHERITED.has(name))
    ? shadowsUsual
    : shadowsAny;

function without(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (!INHERITED.has(key)) out[key] = value[key];
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
  // The statuses the sender uses today, compared before the table: a parsed string is not
  // interned, so looking it up in the table hashes it first.
  switch (status) {
    case 'succeeded':
    case 'failed':
    case 'cancelled':
    case 'queued':
    case 'pending':
    case 'waiting':
    case 'processing':
      return status;
  }
  return STATUS_ALIASES[status] ?? STATUS_ALIASES[status.toLowerCase()] ?? 'unknown';
}

/** Outputs as a flat list: URL strings become `{ url }`. Iterative: no depth can overflow the stack. */
export function normalizeOutputs(value: unknown): TaskOutput[] {
  // One output (the usual case) is answered without the walk's stack.
  if (typeof value === 'string') return [{ url: value }];
  if (isObject(value)) return [clean(value) as TaskOutput];
  const out: TaskOutput[] = [];
  if (value === undefined || value === null) return out;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') out.push({ url: item });
    else if (isObject(item)) out.push(clean(item));
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
