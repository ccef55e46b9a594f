export const SECRET = 'whsec_fastify_test';

export {
  captureLogger as memoryLogger,
  type Exchange,
  postChunked,
  repeatChunk,
} from '@ittybit-webhooks/test-helpers';
