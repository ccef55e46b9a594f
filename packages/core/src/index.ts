// The public API of @ittybit-webhooks/core. Adapter plumbing is on `@ittybit-webhooks/core/adapter`
// (and `/node`); test helpers on `@ittybit-webhooks/core/testing`.
export type { ReceiverResponse } from './answers.js';
export {
  type DeadLetter,
  type DeadLetterSink,
  type FailedDelivery,
  MemoryDeadLetters,
  type MemoryDeadLettersOptions,
} from './dead-letters.js';
export {
  isWebhookError,
  WebhookError,
  type WebhookErrorCode,
  WebhookPayloadError,
  WebhookVerificationError,
} from './errors.js';
export type { Logger } from './log.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export {
  type CancelledTask,
  type FailedTask,
  isTerminal,
  type Metadata,
  type Payload,
  type PayloadShape,
  type Run,
  type SucceededTask,
  type Task,
  type TaskBase,
  type TaskError,
  type TaskOutput,
  type TaskStatus,
  type TaskUpdate,
  type TerminalStatus,
  TOPICS,
  type Topic,
  type TopicPayloads,
  type UnknownPayload,
  type UpdateStatus,
  type WebhookEvent,
} from './model.js';
export { normalizeStatus, toMilliseconds } from './normalize.js';
export type {
  DeliveryOutcome,
  DeliveryProbe,
  ErrorPhase,
  Handler,
  HandlerContext,
  IdempotencyOptions,
  ReceiverOptions,
  ResolvedOptions,
  Telemetry,
  TopicHandlers,
} from './options.js';
export { parsePayload, parseTask } from './parse.js';
export { createReceiver, type Receiver, type ReceiverRequest } from './receiver.js';
export {
  checkSignature,
  parseSignatureHeader,
  SIGNATURE_HEADER,
  type SignatureCheck,
  signPayload,
  verifySignature,
} from './signature.js';
export type { AcquireResult, IdempotencyStore } from './store.js';
export { type BodyInput, type VerifyOptions, verifyWebhook } from './verify.js';
