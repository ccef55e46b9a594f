import { type HeadersInput, normalizeHeaders } from './headers.js';
import type { WebhookEvent } from './model.js';
import type { HandlerContext } from './options.js';

/**
 * The `ctx` handlers get. Headers and the abort signal are made on first use: most handlers read
 * neither, and an `AbortController` per delivery is a measurable cost on Node 20.
 */
export class DeliveryContext<R> implements HandlerContext<R> {
  readonly request: R | undefined;
  readonly key: string;
  readonly topic: string | undefined;
  readonly event: WebhookEvent | undefined;
  private readonly headersInput: HeadersInput;
  private normalized: Record<string, string> | undefined;
  private controller: AbortController | undefined;
  private lostReason: unknown;

  constructor(
    headers: HeadersInput,
    request: R | undefined,
    key: string,
    topic: string | undefined,
    event: WebhookEvent | undefined,
  ) {
    this.headersInput = headers;
    this.request = request;
    this.key = key;
    this.topic = topic;
    this.event = event;
  }

  get headers(): Record<string, string> {
    this.normalized ??= normalizeHeaders(this.headersInput);
    return this.normalized;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lostReason !== undefined) this.controller.abort(this.lostReason);
    }
    return this.controller.signal;
  }

  /** True once the lease was lost. */
  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  /** Marks the lease lost and aborts `signal` (now, or when it is first read). */
  abort(reason: unknown): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.controller?.abort(reason);
  }
}
