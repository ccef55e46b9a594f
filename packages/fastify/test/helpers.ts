export const SECRET = 'whsec_fastify_test';

export { captureLogger as memoryLogger } from '@ittybit-webhooks/test-helpers';
