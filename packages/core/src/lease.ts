import type { DeliveryContext } from './context.js';
import { describeError, WebhookError } from './errors.js';
import type { Log } from './log.js';
import { acquireNow, completeNow, MemoryStore } from './memory-store.js';
import type { ErrorPhase } from './options.js';
import type { AcquireResult, IdempotencyStore } from './store.js';

/** Lease settings, already checked (`leaseMs ≥ 4 × timeoutMs`). */
export interface LeaseSettings {
  leaseMs: number;
  ttlMs: number;
  timeoutMs: number;
}

/** Reports an error to `onError` (never throws). */
export type Report = (error: unknown, phase: ErrorPhase, key: string) => void;

/**
 * One claim, from the moment it is acquired: held while its handler runs and until it is marked
 * completed. Made once per claim (the claim itself, not a copy of it).
 */
export class Held {
  /** The handler's context, once the handler runs (its signal aborts when the lease is lost). */
  ctx: DeliveryContext<unknown> | undefined = undefined;
  /** When the last successful renewal was sent (the store's expiry is at least this + leaseMs). */
  renewedAt: number;
  renewing = false;

  constructor(
    readonly key: string,
    /** The owner token: a string for a shared store, a count for the in-process one. */
    readonly owner: string | number,
    /** When the claim was sent: the store's lease runs from no earlier than that. */
    readonly at: number,
    /** The local store's record of the claim, if it made one. */
    readonly record: object | undefined,
  ) {
    this.renewedAt = at;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `run`, rejecting with `store_unavailable` ("<what> within N ms.") if it takes longer. */
export function bounded<T>(run: () => Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WebhookError('store_unavailable', `${what} within ${ms} ms.`)),
      ms,
    );
  });
  return Promise.race([run(), timeout]).finally(() => clearTimeout(timer));
}

/**
 * An owner token as the store interface types it. A numeric token (see {@link Leases.localOwner})
 * only ever reaches the library's own MemoryStore, whose methods take either.
 */
function token(owner: string | number): string {
  return owner as string;
}

/** Claims made in this process on MemoryStores (see {@link Leases.localOwner}). */
let localClaims = 0;

/**
 * Store calls and lease upkeep for one receiver. A remote store's calls are bounded by
 * `timeoutMs`; the in-process `MemoryStore` is called directly. One timer per receiver renews
 * every held claim from a quarter of the lease on (so one renewal can time out and the next still
 * lands in time), and only while claims are held.
 */
export class Leases {
  private readonly held = new Set<Held>();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The store is the library's own MemoryStore: called directly, without timeouts or promises. */
  readonly local: boolean;
  private readonly renewAfter: number;
  private readonly nonce = crypto.randomUUID();
  private counter = 0;

  constructor(
    readonly store: IdempotencyStore,
    private readonly settings: LeaseSettings,
    private readonly log: Log,
    private readonly report: Report,
  ) {
    // Only the library's own in-process store is exempt (not subclasses, which may do I/O).
    this.local = Object.getPrototypeOf(store) === MemoryStore.prototype;
    this.renewAfter = settings.leaseMs / 4;
  }

  /** A unique owner token for a shared store: random per receiver, counted per claim. */
  owner(): string {
    this.counter += 1;
    return `${this.nonce}:${this.counter}`;
  }

  /**
   * An owner token for the in-process store, which is only ever shared within this process: a
   * count alone is unique there, and a number is kept on the key's record without an allocation.
   */
  localOwner(): number {
    localClaims += 1;
    return localClaims;
  }

  /** Runs one store call, bounded by `timeoutMs` unless the store is in this process. */
  call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return this.local
      ? run()
      : bounded(run, this.settings.timeoutMs, `Idempotency store did not answer ${what}`);
  }

  /**
   * True when `acquire` can be answered at once: the local store, its `acquire` not replaced on
   * the instance (by a spy or a wrapper, which must be called).
   */
  acquiresNow(): boolean {
    return this.local && this.store.acquire === MemoryStore.prototype.acquire;
  }

  /** `acquire` on the local store, answered at once; a full store's error is returned. */
  acquireLocal(
    key: string,
    owner: number,
    leaseMs: number,
    at: number,
  ): object | Exclude<AcquireResult, 'acquired'> | Error {
    return acquireNow(this.store as MemoryStore, key, owner, leaseMs, at);
  }

  /**
   * Marks the claim completed: at once on the local store when it answers, else as
   * {@link complete} does (with retries).
   */
  completeNow(held: Held): boolean | Promise<boolean> {
    if (!this.local || this.store.complete !== MemoryStore.prototype.complete) {
      return this.complete(held);
    }
    const done = completeNow(
      this.store as MemoryStore,
      held.key,
      held.owner,
      this.settings.ttlMs,
      held.record,
    );
    if (done instanceof Error) return this.complete(held);
    this.drop(held);
    if (!done) this.lateComplete(held.key);
    return done;
  }

  private lateComplete(key: string): void {
    this.log(
      'warn',
      `Handled ${key}, but another attempt claimed it after this one's lease lapsed; it may run twice.`,
      { key },
    );
  }

  /**
   * Renews the claim until it is dropped: while an async handler runs, and while a failed
   * `complete` is retried. A handler that returns at once needs no timer at all.
   */
  watch(held: Held): void {
    if (this.held.has(held)) return;
    this.held.add(held);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.renewAfter / 2)));
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops renewing. */
  drop(held: Held): void {
    this.held.delete(held);
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const held of this.held) {
      if (held.renewing || held.ctx?.lost) continue;
      const age = now - held.renewedAt;
      if (age >= this.settings.leaseMs) {
        this.log(
          'error',
          `Could not renew the lease on ${held.key} for ${this.settings.leaseMs} ms; aborting the handler (ctx.signal).`,
          { key: held.key },
        );
        held.ctx?.abort(
          new WebhookError('store_unavailable', `Lease on ${held.key} could not be renewed.`),
        );
      } else if (age >= this.renewAfter) {
        void this.renew(held, now);
      }
    }
  }

  private async renew(held: Held, sentAt: number): Promise<void> {
    held.renewing = true;
    try {
      const ok = await this.call('extend', () =>
        this.store.extend(held.key, token(held.owner), this.settings.leaseMs),
      );
      if (ok) {
        held.renewedAt = sentAt;
      } else if (!held.ctx?.lost) {
        this.log(
          'error',
          `Lost the lease on ${held.key}: another attempt may run it. Handlers should stop when ctx.signal aborts.`,
          { key: held.key },
        );
        held.ctx?.abort(new WebhookError('in_progress', `Lease on ${held.key} was lost.`));
      }
    } catch (error) {
      this.report(error, 'extend', held.key);
    } finally {
      held.renewing = false;
    }
  }

  /**
   * Marks the claim completed. A failed call is retried with backoff while the lease is still
   * held (the renewals go on meanwhile), for at most one lease; a store also accepts the
   * completion of a lapsed lease that nobody else claimed. Resolves `true` when it was recorded.
   */
  async complete(held: Held): Promise<boolean> {
    const { key, owner } = held;
    const { leaseMs } = this.settings;
    // However long renewals keep succeeding, retries stop one lease after the handler finished.
    const giveUpAt = Date.now() + leaseMs;
    let delay = 25;
    try {
      for (;;) {
        try {
          const done = await this.call('complete', () =>
            this.store.complete(key, token(owner), this.settings.ttlMs),
          );
          if (!done) this.lateComplete(key);
          return done;
        } catch (error) {
          this.report(error, 'complete', key);
          this.watch(held);
          // The store decides whether a late complete still counts (a lapsed lease that nobody
          // claimed since does): retry until one lease has passed since the handler finished, even
          // when this process was paused past its own lease estimate.
          const left = giveUpAt - Date.now();
          if (left <= 0) {
            this.log(
              'error',
              `Handled ${key} but could not mark it completed (${describeError(error)}) within one lease; a retry may run it again.`,
              { key },
            );
            return false;
          }
          await sleep(Math.min(delay, left));
          delay = Math.min(delay * 2, 1_000);
        }
      }
    } finally {
      this.drop(held);
    }
  }

  /** Gives the claim back so the sender's retry runs the handler again. */
  async release(key: string, owner: string | number): Promise<void> {
    try {
      await this.call('release', () => this.store.release(key, token(owner)));
    } catch (error) {
      this.log(
        'error',
        `Could not release ${key} (${describeError(error)}); a retry waits until the lease lapses.`,
        { key },
      );
      this.report(error, 'release', key);
    }
  }
}
