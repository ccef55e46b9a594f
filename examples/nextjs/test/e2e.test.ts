import { exampleSuite } from '../../e2e';

// A production build (`npm run build:app`, i.e. `next build`) then `npm start` (`next start`),
// as the README says, driven with the ittybit-webhooks CLI.
exampleSuite({ name: 'nextjs', build: true, buildTimeoutMs: 300_000, startTimeoutMs: 60_000 });
