import { signedDelivery } from '@ittybit-webhooks/test-helpers';

export const SECRET = 'whsec_express_test';

/** A signed delivery of a fresh succeeded task. */
export const delivery = (overrides: Parameters<typeof signedDelivery>[1] = {}) =>
  signedDelivery(SECRET, overrides);

export { captureLogger, listen, post, type Running } from '@ittybit-webhooks/test-helpers';
