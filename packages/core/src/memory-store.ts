import { WebhookError } from './errors.js';
import type { AcquireResult, IdempotencyStore } from './store.js';

interface Entry {
  state: 'in_progress' | 'completed';
  owner: string;
  expiresAt: number;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept at once (default 10,000). When full, expired keys go first, then the oldest
   * completed keys (a tenth at a time); running claims are never evicted.
   */
  maxEntries?: number;
  /** Clock in milliseconds (default `Date.now`); tests may pass their own. */
  now?: () => number;
}

/**
 * The default idempotency store: a bounded Map in this process. Right for one long-running
 * process; use the Redis or PostgreSQL store when several instances receive deliveries.
 */
export class MemoryStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;

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

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #makeRoom(): void {
    if (this.#entries.size < this.#maxEntries) return;
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    // Evict a batch (down to 90%), so a full store pays for one sweep per many inserts, not one
    // per insert. Map order is insertion order: the first completed entries are the oldest.
    const target = Math.min(this.#maxEntries - 1, Math.floor(this.#maxEntries * 0.9));
    if (this.#entries.size > target) {
      for (const [key, entry] of this.#entries) {
        if (this.#entries.size <= target) break;
        if (entry.state === 'completed') this.#entries.delete(key);
      }
    }
    if (this.#entries.size >= this.#maxEntries) {
      // Evicting a running claim could run a handler twice: fail closed instead (503, retried).
      throw new WebhookError(
        'store_unavailable',
        `MemoryStore is full: ${this.#maxEntries} deliveries are in progress. Raise maxEntries or use a shared store.`,
      );
    }
  }

  async acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const entry = this.#live(key);
    if (entry) return entry.state;
    this.#makeRoom();
    this.#entries.set(key, { state: 'in_progress', owner, expiresAt: this.#now() + leaseMs });
    return 'acquired';
  }

  async complete(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const entry = this.#live(key);
    if (!entry || entry.owner !== owner || entry.state !== 'in_progress') return false;
    // Re-insert so eviction order follows completion time.
    this.#entries.delete(key);
    this.#entries.set(key, { state: 'completed', owner, expiresAt: this.#now() + ttlMs });
    return true;
  }

  async release(key: string, owner: string): Promise<boolean> {
    const entry = this.#live(key);
    if (!entry || entry.owner !== owner || entry.state !== 'in_progress') return false;
    this.#entries.delete(key);
    return true;
  }

  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const entry = this.#live(key);
    if (!entry || entry.owner !== owner || entry.state !== 'in_progress') return false;
    entry.expiresAt = this.#now() + leaseMs;
    return true;
  }
}
