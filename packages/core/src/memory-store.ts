import { WebhookError } from './errors.js';
import type { AcquireResult, IdempotencyStore } from './store.js';

const IN_PROGRESS = 0;
const COMPLETED = 1;

/**
 * One key's record. Mutated in place by complete and extend; the records of evicted keys are
 * reused for new ones. The owner is the caller's token, or the receiver's count (a number, kept
 * without an allocation).
 */
class Entry {
  state: typeof IN_PROGRESS | typeof COMPLETED;
  owner: string | number;
  expiresAt: number;
  constructor(state: Entry['state'], owner: string | number, expiresAt: number) {
    this.state = state;
    this.owner = owner;
    this.expiresAt = expiresAt;
  }
}

// Settled answers, made once: a promise that is already resolved can be shared by every caller,
// so no operation allocates one.
const ACQUIRED: Promise<AcquireResult> = Promise.resolve('acquired');
const BUSY: Promise<AcquireResult> = Promise.resolve('in_progress');
const DONE: Promise<AcquireResult> = Promise.resolve('completed');
const YES: Promise<boolean> = Promise.resolve(true);
const NO: Promise<boolean> = Promise.resolve(false);

/**
 * `acquire` and `complete` of a MemoryStore, answered at once: the result, or the
 * `store_unavailable` error (returned, not thrown) when only running claims are left. A claim
 * answers its record (an opaque object), which `completeNow` takes back to complete it without a
 * second lookup. For the receiver only, which uses them when the store is a MemoryStore itself
 * (not a subclass).
 */
export let acquireNow: (
  store: MemoryStore,
  key: string,
  owner: string | number,
  leaseMs: number,
  at: number,
) => object | Busy | Error;
export let completeNow: (
  store: MemoryStore,
  key: string,
  owner: string | number,
  ttlMs: number,
  claimed: unknown,
) => boolean | Error;

/** Why a key could not be claimed. */
type Busy = Exclude<AcquireResult, 'acquired'>;

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept at once (default 10,000). When full, expired keys go first, then completed keys
   * in the order they were claimed (a tenth of the store at a time); running claims are never
   * evicted.
   */
  maxEntries?: number;
  /** Clock in milliseconds (default `Date.now`); tests may pass their own. */
  now?: () => number;
}

/**
 * The default idempotency store: a bounded Map in this process. Right for one long-running
 * process; use the Redis or PostgreSQL store when several instances receive deliveries.
 *
 * Eviction order is claim order: `complete` marks the key's record in place rather than moving
 * it to the back, so among completed keys the one claimed first is forgotten first. With
 * handlers much shorter than `ttlMs` that is also the one completed first. A key taken over
 * after its lease lapsed, or recorded by a `complete` that came after its lease lapsed, counts
 * as newly claimed.
 */
export class MemoryStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** No entry expires before this: the earliest expiry set since the last scan for expired keys. */
  #earliest = Number.POSITIVE_INFINITY;
  /**
   * Records of evicted keys, reused by the next claims: a store at its bound replaces keys at the
   * rate it claims them, and a reused record is one allocation (and one young object for the
   * garbage collector to move) less per claim.
   */
  readonly #spare: Entry[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxEntries >= 1)) throw new RangeError('MemoryStore maxEntries must be at least 1');
  }

  /** Number of live (unexpired) keys. */
  get size(): number {
    const now = this.#now();
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.expiresAt > now) n++;
    return n;
  }

  /** Makes room for one more key, or throws `store_unavailable` if only running claims are left. */
  #makeRoom(now: number): void {
    const entries = this.#entries;
    if (entries.size < this.#maxEntries) return;
    // No key can have expired before the earliest expiry set since the last scan.
    if (this.#earliest <= now) {
      let earliest = Number.POSITIVE_INFINITY;
      // By key, then the record: iterating the Map's entries makes a [key, record] array each.
      for (const key of entries.keys()) {
        const entry = entries.get(key) as Entry;
        if (entry.expiresAt <= now) this.#evict(key, entry);
        else if (entry.expiresAt < earliest) earliest = entry.expiresAt;
      }
      this.#earliest = earliest;
    }
    // Evict a batch (down to 90%), so a full store pays for one sweep per many inserts, not one
    // per insert. Map order is claim order: the first completed entries were claimed first.
    const target = Math.min(this.#maxEntries - 1, Math.floor(this.#maxEntries * 0.9));
    if (entries.size > target) {
      for (const key of entries.keys()) {
        if (entries.size <= target) break;
        const entry = entries.get(key) as Entry;
        if (entry.state === COMPLETED) this.#evict(key, entry);
      }
    }
    if (entries.size >= this.#maxEntries) {
      // Evicting a running claim could run a handler twice: fail closed instead (503, retried).
      throw new WebhookError(
        'store_unavailable',
        `MemoryStore is full: ${this.#maxEntries} deliveries are in progress. Raise maxEntries or use a shared store.`,
      );
    }
  }

  /**
   * Forgets `key` and keeps its record for reuse. A record a claim still refers to (an expired
   * claim's) may be reused: its owner then changes, and the old owner's complete looks the key up.
   */
  #evict(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (this.#spare.length < this.#maxEntries) this.#spare.push(entry);
  }

  /**
   * Records `key` as the newest key, reusing `lapsed` (its expired record) if there is one.
   * Answers the `store_unavailable` error instead when only running claims are left.
   */
  #insert(
    key: string,
    lapsed: Entry | undefined,
    state: Entry['state'],
    owner: string | number,
    expiresAt: number,
    now: number,
  ): Entry | Error {
    let entry = lapsed;
    if (entry !== undefined) this.#entries.delete(key);
    try {
      this.#makeRoom(now);
    } catch (error) {
      return error as Error;
    }
    entry ??= this.#spare.pop();
    if (entry === undefined) {
      entry = new Entry(state, owner, expiresAt);
    } else {
      entry.state = state;
      entry.owner = owner;
    }
    this.#expire(entry, expiresAt);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Sets a record's expiry, keeping `#earliest` a bound below every expiry. */
  #expire(entry: Entry, at: number): void {
    entry.expiresAt = at;
    if (at < this.#earliest) this.#earliest = at;
  }

  static {
    // The receiver calls an unextended MemoryStore without promises (see `acquireNow`).
    // `at`: the caller's Date.now(), the store's time unless it was given its own clock.
    acquireNow = (store, key, owner, leaseMs, at) =>
      store.#acquire(key, owner, leaseMs, store.#now === Date.now ? at : store.#now());
    completeNow = (store, key, owner, ttlMs, claimed) =>
      store.#complete(key, owner, ttlMs, claimed instanceof Entry ? claimed : undefined);
  }

  acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const found = this.#acquire(key, owner, leaseMs);
    if (found instanceof Entry) return ACQUIRED;
    if (found === 'completed') return DONE;
    if (found === 'in_progress') return BUSY;
    return Promise.reject(found);
  }

  /** The new record when `key` was claimed, else why not. */
  #acquire(
    key: string,
    owner: string | number,
    leaseMs: number,
    now: number = this.#now(),
  ): Entry | Busy | Error {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) {
      return entry.state === COMPLETED ? 'completed' : 'in_progress';
    }
    return this.#insert(key, entry, IN_PROGRESS, owner, now + leaseMs, now);
  }

  /**
   * Marks `key` completed for `ttlMs` if `owner` holds it, or if its lease lapsed and nobody
   * holds or completed the key since (a lapsed claim counts as absent). Answers `true` again to a
   * repeated complete by the owner that completed it.
   */
  complete(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const done = this.#complete(key, owner, ttlMs);
    return done === true ? YES : done === false ? NO : Promise.reject(done);
  }

  /** `claimed`: the record a claim made, used without a lookup while it is still the owner's. */
  #complete(key: string, owner: string | number, ttlMs: number, claimed?: Entry): boolean | Error {
    const now = this.#now();
    // A running, unexpired claim is never evicted nor replaced: it is still the key's record.
    const entry =
      claimed?.state === IN_PROGRESS && claimed.owner === owner && claimed.expiresAt > now
        ? claimed
        : this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) {
      if (entry.owner !== owner) return false;
      if (entry.state === IN_PROGRESS) {
        entry.state = COMPLETED;
        this.#expire(entry, now + ttlMs);
      }
      return true;
    }
    const inserted = this.#insert(key, entry, COMPLETED, owner, now + ttlMs, now);
    return inserted instanceof Error ? inserted : true;
  }

  release(key: string, owner: string): Promise<boolean> {
    const entry = this.#entries.get(key);
    if (
      entry === undefined ||
      entry.state !== IN_PROGRESS ||
      entry.owner !== owner ||
      entry.expiresAt <= this.#now()
    ) {
      return NO;
    }
    this.#entries.delete(key);
    return YES;
  }

  extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.state !== IN_PROGRESS || entry.owner !== owner) return NO;
    const now = this.#now();
    if (entry.expiresAt <= now) return NO;
    this.#expire(entry, now + leaseMs);
    return YES;
  }
}
