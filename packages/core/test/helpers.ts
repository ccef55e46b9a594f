import type { IdempotencyStore, ReceiverRequest } from '../src/index.js';
import { signPayload } from '../src/index.js';
import { createTestDelivery, createTestTask } from '../src/testing.js';

export const SECRET = 'whsec_test';

export { captureLogger } from '@ittybit-webhooks/test-helpers';

/** A signed POST of `task` (a sender-format object) as an adapter would hand it to core. */
export async function signedRequest(
  task: Record<string, unknown> = createTestTask(),
  secret = SECRET,
): Promise<ReceiverRequest> {
  const { body, headers } = await createTestDelivery(task, secret);
  return { method: 'POST', headers, body: new TextEncoder().encode(body) };
}

/** A signed POST of these exact body bytes. */
export async function signedBytes(body: Uint8Array, secret = SECRET): Promise<ReceiverRequest> {
  return {
    method: 'POST',
    headers: { 'ittybit-signature': await signPayload(body, secret) },
    body,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose every call fails like an unreachable server. */
export function unreachableStore(): IdempotencyStore {
  const fail = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
  };
  return { acquire: fail, complete: fail, release: fail, extend: fail };
}

/** A deferred promise, to hold a handler open while a test looks. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
