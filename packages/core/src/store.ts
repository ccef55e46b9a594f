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
 * absent --complete(owner) after its lease lapsed, nobody claimed since--> COMPLETED
 * ```
 */
export interface IdempotencyStore {
  /** Claims `key` for `owner` for `leaseMs` if it is absent or its lease has lapsed. */
  acquire(key: string, owner: string, leaseMs: number): Promise<AcquireResult>;
  /**
   * Marks `key` completed and keeps it `ttlMs`. Succeeds (`true`) when `owner` holds the key, and
   * also when `owner`'s lease lapsed but no other owner holds or has completed the key since (a
   * lapsed claim counts as absent; it may already be forgotten). Answers `true` again to a
   * repeated complete by the owner that completed it (its first reply may have been lost). `false`
   * when another owner holds a live claim or completed the key: nothing is recorded.
   */
  complete(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes an in-progress `key` held by `owner` so a retry can run; never deletes a completed one. */
  release(key: string, owner: string): Promise<boolean>;
  /** Renews `owner`'s lease to `leaseMs` from now; `false` means the lease was lost. */
  extend(key: string, owner: string, leaseMs: number): Promise<boolean>;
}
