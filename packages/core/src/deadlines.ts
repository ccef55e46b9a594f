/**
 * One timer for many bodies being read (`@ittybit-webhooks/core/adapter`), shared by the Node
 * body reader and the Web adapter. Not for Cloudflare Workers, where a timer belongs to the
 * request that set it: there each request needs its own.
 */

/** One body being read, in its list of deadlines (oldest first). */
export interface Reading {
  deadline: number;
  expire: () => void;
  prev: Reading | undefined;
  next: Reading | undefined;
  listed: boolean;
}

/**
 * The deadlines of the bodies being read with one `bodyTimeoutMs`. All share that duration, so
 * they expire in the order they started: a list in start order and one timer for its head,
 * instead of a timer per request (creating and clearing one measured a tenth of a receiver's
 * CPU per request under load).
 */
export class Deadlines {
  private head: Reading | undefined;
  private tail: Reading | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Lists a reading that calls `expire` once `timeoutMs` has passed, unless removed first. */
  add(expire: () => void): Reading {
    const reading: Reading = {
      deadline: Date.now() + this.timeoutMs,
      expire,
      prev: this.tail,
      next: undefined,
      listed: true,
    };
    if (this.tail) this.tail.next = reading;
    else this.head = reading;
    this.tail = reading;
    if (!this.timer) this.arm(this.timeoutMs);
    return reading;
  }

  /** Takes a reading off the list (done, failed or already expired: removing twice is fine). */
  remove(reading: Reading): void {
    if (!reading.listed) return;
    reading.listed = false;
    if (reading.prev) reading.prev.next = reading.next;
    else this.head = reading.next;
    if (reading.next) reading.next.prev = reading.prev;
    else this.tail = reading.prev;
    reading.prev = undefined;
    reading.next = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.head && this.head.deadline <= now) {
      const due = this.head;
      this.remove(due);
      due.expire();
    }
    if (this.head) this.arm(Math.max(1, this.head.deadline - now));
  }
}

const lists = new Map<number, Deadlines>();

/** The process's one list for this `bodyTimeoutMs`. */
export function deadlinesOf(timeoutMs: number): Deadlines {
  let list = lists.get(timeoutMs);
  if (!list) {
    list = new Deadlines(timeoutMs);
    lists.set(timeoutMs, list);
  }
  return list;
}
