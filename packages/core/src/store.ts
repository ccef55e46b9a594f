/**
 * What `acquire` found: `acquired` (the caller now owns the key under a lease), `in_progress`
 * (another owner holds a live lease) or `completed` (done before; skip it).
 */
export type AcquireResult = 'acquired' | 'in_progress' | 'completed';

/**
 * Where idempotency keys live. Every method is atomic and conditional on the random per-attempt
 * `owner` token, and expiry runs on the store's own clock:
 *
 * ```
 * absent --acquire--> IN_PROGRESS{owner, lease} --complete--> COMPLETED (kept ttlMs)
 * IN_PROGRESS --release(owner)--> absent       IN_PROGRESS --lease lapses--> absent
 * ```
 */
export interface IdempotencyStore {
  /** Claims `key` for `owner` for `leaseMs` if it is absent or its lease has lapsed. */
  acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult>;
  /** Marks `key` completed and keeps it `ttlMs`, only if `owner` still holds it. */
  complete(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes an in-progress `key` held by `owner` so a retry can run; never deletes a completed one. */
  release(key: string, owner: string): Promise<boolean>;
  /** Renews `owner`'s lease to `leaseMs` from now; `false` means the lease was lost. */
  extend(key: string, owner: string, leaseMs: number): Promise<boolean>;
}
