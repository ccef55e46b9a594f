/**
 * `@ittybit-webhooks/cli`: the `ittybit-webhooks` command, and the same deliveries as functions
 * for scripts and tests.
 *
 * ```ts
 * import { sendDelivery, buildTask } from '@ittybit-webhooks/cli';
 * const result = await sendDelivery({
 *   url: 'http://127.0.0.1:3000/webhooks/ittybit',
 *   body: JSON.stringify(buildTask({ metadata: { exportId: 'e1' } })),
 *   secret: 'whsec_test',
 * });
 * console.log(result.status, result.attempts.length);
 * ```
 */
export {
  type AttemptResult,
  backoffDelay,
  DEFAULT_RETRY,
  type DeliveryResult,
  isRetryable,
  type RetryOptions,
  type SendDeliveriesOptions,
  type SendDeliveryOptions,
  sendDeliveries,
  sendDelivery,
  taskIdOf,
} from './deliver.js';
export { describeAttempt, formatTable } from './format.js';
export { type CliIo, EXIT, runCli } from './main.js';
export {
  type BuildTaskOptions,
  buildTask,
  parseMetadataPairs,
  SEND_KINDS,
  SEND_STATUSES,
} from './task.js';
