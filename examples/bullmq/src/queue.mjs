// What the receiver and the worker share: the queue's name and how to reach Redis.
import { Redis } from 'ioredis';

/** The BullMQ queue both processes use. */
export const QUEUE_NAME = process.env.QUEUE_NAME ?? 'ittybit-tasks';

/** Keep finished jobs as long as the sender may still retry: a repeated jobId is only dropped
 * while the first job still exists in Redis (72 h, the receiver's own dedupe window). */
export const KEEP_FINISHED_SECONDS = 72 * 60 * 60;

/**
 * A Redis connection for BullMQ. The receiver's fails fast (no offline queue, one try), so a
 * Redis outage turns into a 500 and the sender retries instead of the request hanging; the
 * worker's waits and reconnects (BullMQ requires `maxRetriesPerRequest: null` for workers).
 */
export function connect(role) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return role === 'worker'
    ? new Redis(url, { maxRetriesPerRequest: null })
    : new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
}
