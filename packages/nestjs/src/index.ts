export type {
  CancelledTask,
  FailedTask,
  HandlerContext,
  Metadata,
  Receiver,
  ReceiverOptions,
  Run,
  SucceededTask,
  Task,
} from '@ittybit-webhooks/core';
export { fromNestLogger, LOG_CONTEXT } from './logger.js';
export {
  DEFAULT_PATH,
  ITTYBIT_WEBHOOK_OPTIONS,
  ITTYBIT_WEBHOOK_RECEIVER,
  IttybitWebhookModule,
  type IttybitWebhookModuleAsyncOptions,
  type IttybitWebhookModuleOptions,
  type IttybitWebhookMount,
  type IttybitWebhookOptionsFactory,
} from './module.js';
