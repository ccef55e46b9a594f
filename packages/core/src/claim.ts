import { describeError, isWebhookError, WebhookError } from './errors.js';
import { Held, type Leases } from './lease.js';
import type { Payload, WebhookEvent } from './model.js';

/** The default key: the event id of an envelope, else `id:status`; none for an unknown payload. */
export function defaultKey(payload: Payload<unknown>): string | undefined {
  if (payload.event?.id) return payload.event.id;
  if (payload.object === 'unknown') return undefined;
  return `${payload.id}:${payload.status}`;
}

/** A user's key function, or the default. */
export type KeyOf<M> = (
  payload: Payload<M>,
  ctx: { topic: string | undefined; event: WebhookEvent | undefined },
) => string | undefined;

/**
 * What claiming a key found: the claim when it is ours now (its owner token, and when it was sent:
 * the store's lease runs from no earlier than that), else why not.
 */
export type Claim = Held | 'completed' | 'in_progress';

/**
 * Claims `key` for a fresh owner. A store that fails or does not answer within its timeout is a
 * `store_unavailable` error (503: the sender retries); a claim that lands after that is given
 * back at once, so it does not block the retries until its lease lapses.
 */
export function claim(leases: Leases, key: string, leaseMs: number): Claim | Promise<Claim> {
  if (!leases.acquiresNow()) return claimRemote(leases, key, leaseMs);
  // The in-process MemoryStore answers at once; a full store is a store_unavailable error.
  const owner = leases.localOwner();
  const at = Date.now();
  const found = leases.acquireLocal(key, owner, leaseMs, at);
  if (found instanceof Error) throw found;
  return typeof found === 'object' ? new Held(key, owner, at, found) : found;
}

async function claimRemote(leases: Leases, key: string, leaseMs: number): Promise<Claim> {
  const owner = leases.owner();
  const at = Date.now();
  const acquiring = leases.store.acquire(key, owner, leaseMs);
  let found: Awaited<typeof acquiring>;
  try {
    found = await leases.call('acquire', () => acquiring);
  } catch (error) {
    acquiring
      .then((late) => (late === 'acquired' ? leases.store.release(key, owner) : false))
      .catch(() => {});
    throw isWebhookError(error) && error.code === 'store_unavailable'
      ? error
      : new WebhookError(
          'store_unavailable',
          `Idempotency store failed on acquire: ${describeError(error)}`,
          { cause: error },
        );
  }
  return found === 'acquired' ? new Held(key, owner, at, undefined) : found;
}
