import { exampleSuite } from '../../e2e';

// Bundles the worker (`npm run build:app`) and runs it on workerd from npm (`npm start`), as the
// README says, driven with `npx @ittybit-webhooks/cli`'s bin.
// Every request for the webhook path reaches the handler: a GET gets the receiver's 405.
exampleSuite({
  name: 'cloudflare-worker',
  build: true,
  buildTimeoutMs: 60_000,
  get: { status: 405, allow: 'POST' },
});
