export const SECRET = 'whsec_web_test';

export { captureLogger as memoryLogger } from '@ittybit-webhooks/test-helpers';
