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
