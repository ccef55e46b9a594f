export { toBytes } from './bytes.js';
export {
  isWebhookError,
  WebhookError,
  type WebhookErrorCode,
  WebhookPayloadError,
  WebhookVerificationError,
} from './errors.js';
export { type HeadersInput, normalizeHeaders } from './headers.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { normalizeStatus, parseTask, toMilliseconds } from './parse.js';
export {
  type BodyInput,
  type BodyReader,
  createReceiver,
  type ErrorPhase,
  type HandlerContext,
  type IdempotencyOptions,
  type Logger,
  type Receiver,
  type ReceiverOptions,
  type ReceiverRequest,
  type ReceiverResponse,
  toReceiver,
} from './receiver.js';
export {
  checkSignature,
  parseSignatureHeader,
  SIGNATURE_HEADER,
  type SignatureCheck,
  signPayload,
  verifySignature,
} from './signature.js';
export type { AcquireResult, IdempotencyStore } from './store.js';
export {
  type CancelledTask,
  type FailedTask,
  isTerminal,
  type Metadata,
  type PayloadShape,
  type SucceededTask,
  type Task,
  type TaskBase,
  type TaskError,
  type TaskOutput,
  type TaskStatus,
  type TaskUpdate,
  type TerminalStatus,
  type UpdateStatus,
  type WebhookEvent,
} from './task.js';
