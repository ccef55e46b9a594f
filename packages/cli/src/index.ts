/**
 * `@ittybit-webhooks/cli`: the `ittybit-webhooks` command, and the same deliveries as functions
 * for scripts and tests.
 *
 * ```ts
 * import { buildDelivery, sendDelivery } from '@ittybit-webhooks/cli';
 * const result = await sendDelivery({
 *   url: 'http://127.0.0.1:3000/webhooks/ittybit',
 *   body: JSON.stringify(buildDelivery({ topic: 'run.succeeded', metadata: { batch: 'b1' } })),
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
export { answerCode, describeAttempt, formatTable } from './format.js';
export { type CliIo, EXIT, runCli } from './main.js';
export {
  type BuildDeliveryOptions,
  type BuildTaskOptions,
  buildDelivery,
  buildTask,
  parseMetadataPairs,
  SEND_KINDS,
  SEND_SHAPES,
  SEND_STATUSES,
  SEND_TOPICS,
  type SendShape,
  type SendStatus,
  statusesForTopic,
  topicForStatus,
} from './task.js';
