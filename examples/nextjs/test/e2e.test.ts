import { exampleSuite } from '../../e2e';

// A production build (`npm run build:app`, i.e. `next build`) then `npm start` (`next start`),
// as the README says, driven with `npx @ittybit-webhooks/cli`'s bin.
// The route exports POST only: Next.js answers a GET itself, with 405.
exampleSuite({
  name: 'nextjs',
  build: true,
  buildTimeoutMs: 300_000,
  startTimeoutMs: 60_000,
  get: { status: 405 },
});
