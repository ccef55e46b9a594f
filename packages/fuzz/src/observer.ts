/**
 * A receiver under fuzz whose handlers and store count what reached them, per request. Each
 * request carries an `X-Fuzz-Id`; `receiver.handle` runs in an AsyncLocalStorage scope holding
 * that id, so a store call or handler call is charged to the request that caused it. The registry
 * knows which requests were correctly signed: only those may reach a handler or the store.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createReceiver,
  type IdempotencyStore,
  type Logger,
  MemoryStore,
  type Receiver,
  type ReceiverOptions,
} from '@ittybit-webhooks/core';
import { headerOf } from '@ittybit-webhooks/core/adapter';
import { LIMITS } from './kinds.js';
import { SECRET, SLEEP_KEY, THROW_KEY } from './payloads.js';

/** Ids of every request sent, and whether each was correctly signed. */
export class Registry {
  private next = 1;
  private readonly signed = new Map<number, boolean>();
  private readonly smuggled = new Set<number>();

  add(signed: boolean): number {
    const id = this.next++;
    this.signed.set(id, signed);
    return id;
  }

  /** The id of a request hidden inside another request's body: it must never be handled. */
  addSmuggled(): number {
    const id = this.add(false);
    this.smuggled.add(id);
    return id;
  }

  isSmuggled(id: number): boolean {
    return this.smuggled.has(id);
  }

  isSigned(id: number): boolean {
    return this.signed.get(id) === true;
  }

  get size(): number {
    return this.next - 1;
  }
}

const OBJECT_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join();
const ARRAY_KEYS = Object.getOwnPropertyNames(Array.prototype).sort().join();

/** A problem with the global prototypes (a payload polluted them), or undefined. */
export function globalPollution(): string | undefined {
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== OBJECT_KEYS) {
    return `Object.prototype changed: ${Object.getOwnPropertyNames(Object.prototype).join(', ')}`;
  }
  if (Object.getOwnPropertyNames(Array.prototype).sort().join() !== ARRAY_KEYS) {
    return 'Array.prototype changed';
  }
  if (({} as Record<string, unknown>).polluted !== undefined) return '({}).polluted is set';
  return undefined;
}

/** Objects in a handler's payload whose prototype is not Object.prototype (or Array's). Iterative, bounded. */
function prototypeProblems(payload: unknown): string[] {
  const problems: string[] = [];
  const stack: { value: unknown; path: string }[] = [{ value: payload, path: '$' }];
  let seen = 0;
  while (stack.length > 0 && seen < 20_000 && problems.length < 5) {
    const { value, path } = stack.pop()!;
    seen += 1;
    if (value === null || typeof value !== 'object') continue;
    const proto = Object.getPrototypeOf(value);
    const expected = Array.isArray(value) ? Array.prototype : Object.prototype;
    if (proto !== expected) {
      problems.push(`${path} has prototype ${proto === null ? 'null' : 'a payload object'}`);
      continue;
    }
    for (const key of Object.keys(value)) {
      stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}.${key}` });
    }
  }
  return problems;
}

/** What reached one receiver's handlers, store, logger and onError. */
export class Observer {
  readonly als = new AsyncLocalStorage<number>();
  private readonly handlerCalls = new Map<number, number>();
  /** Requests the receiver was asked to handle. */
  private readonly entered = new Set<number>();
  private readonly storeCalls = new Map<number, number>();
  /** Handler or store calls made outside any request's scope, or whose header id disagreed. */
  unattributed = 0;
  /** Problems seen inside handlers (prototypes, ids). */
  readonly problems: string[] = [];
  /** onError calls by phase (`handler` is expected for the provoked throws). */
  readonly errors = new Map<string, number>();
  readonly logs = { error: 0, warn: 0, info: 0, debug: 0 };

  constructor(private readonly registry: Registry) {}

  enter(id: number): void {
    this.entered.add(id);
  }

  /** True when the receiver was asked to handle this request. */
  handled(id: number): boolean {
    return this.entered.has(id);
  }

  /** Smuggled requests the receiver was asked to handle. */
  smuggledHandled(): number[] {
    return [...this.entered].filter((id) => this.registry.isSmuggled(id));
  }

  handlersFor(id: number): number {
    return this.handlerCalls.get(id) ?? 0;
  }

  storeFor(id: number): number {
    return this.storeCalls.get(id) ?? 0;
  }

  /** Requests that reached a handler or the store without a correct signature. */
  unsignedReached(): number[] {
    const out = new Set<number>();
    for (const map of [this.handlerCalls, this.storeCalls]) {
      for (const id of map.keys()) if (!this.registry.isSigned(id)) out.add(id);
    }
    return [...out];
  }

  chargeStore(): void {
    const id = this.als.getStore();
    if (id === undefined) this.unattributed += 1;
    else this.storeCalls.set(id, (this.storeCalls.get(id) ?? 0) + 1);
  }

  chargeHandler(headers: Record<string, string>, payload: unknown): void {
    const id = this.als.getStore();
    const headerId = Number(headers['x-fuzz-id']);
    if (id === undefined || headerId !== id) {
      this.unattributed += 1;
      this.problems.push(`handler called for request ${id} with X-Fuzz-Id ${headers['x-fuzz-id']}`);
      return;
    }
    this.handlerCalls.set(id, (this.handlerCalls.get(id) ?? 0) + 1);
    for (const problem of prototypeProblems(payload)) {
      this.problems.push(`request ${id}: handler payload ${problem}`);
    }
  }

  readonly logger: Logger = {
    error: () => {
      this.logs.error += 1;
    },
    warn: () => {
      this.logs.warn += 1;
    },
    info: () => {
      this.logs.info += 1;
    },
    debug: () => {
      this.logs.debug += 1;
    },
  };
}

/** The MemoryStore, every call charged to the request in scope. */
function countingStore(observer: Observer): IdempotencyStore {
  const memory = new MemoryStore();
  return {
    acquire(key, owner, leaseMs) {
      observer.chargeStore();
      return memory.acquire(key, owner, leaseMs);
    },
    complete(key, owner, ttlMs) {
      observer.chargeStore();
      return memory.complete(key, owner, ttlMs);
    },
    release(key, owner) {
      observer.chargeStore();
      return memory.release(key, owner);
    },
    extend(key, owner, leaseMs) {
      observer.chargeStore();
      return memory.extend(key, owner, leaseMs);
    },
  };
}

/**
 * A ready receiver (handed to the adapter as it is) with a handler for every topic, so every
 * acknowledged non-duplicate delivery runs exactly one handler. A handler throws only for a
 * payload whose metadata carries {@link THROW_KEY} (the provoked 500).
 */
export function observedReceiver(
  observer: Observer,
  overrides: Partial<ReceiverOptions> = {},
): { receiver: Receiver; inner: Receiver } {
  const handler = (payload: unknown, ctx: { headers: Record<string, string> }) => {
    observer.chargeHandler(ctx.headers, payload);
    const metadata = (payload as { metadata?: Record<string, unknown> } | null)?.metadata;
    if (metadata && metadata[THROW_KEY] === true) {
      throw new Error('thrown on purpose by the fuzz handler');
    }
    const sleep = metadata?.[SLEEP_KEY];
    if (typeof sleep === 'number' && sleep > 0) {
      return new Promise<void>((resolve) => setTimeout(resolve, Math.min(sleep, 1_000)));
    }
    return undefined;
  };
  const inner = createReceiver({
    secret: SECRET,
    onSucceeded: handler,
    onFailed: handler,
    onCancelled: handler,
    onUpdate: handler,
    on: {
      'run.created': handler,
      'run.updated': handler,
      'run.succeeded': handler,
      'run.failed': handler,
    },
    onUnknown: handler,
    idempotency: { store: countingStore(observer) },
    maxBodyBytes: LIMITS.maxBodyBytes,
    bodyTimeoutMs: LIMITS.bodyTimeoutMs,
    logger: observer.logger,
    onError: (_error, info) => {
      observer.errors.set(info.phase, (observer.errors.get(info.phase) ?? 0) + 1);
    },
    ...overrides,
  } as ReceiverOptions);
  // The same receiver, its pipeline run in the request's id scope.
  const receiver: Receiver = {
    ...inner,
    handle: (request) => {
      const header = Number(headerOf(request.headers, 'x-fuzz-id'));
      const id = Number.isInteger(header) ? header : -1;
      observer.enter(id);
      return observer.als.run(id, () => inner.handle(request));
    },
  };
  return { receiver, inner };
}
