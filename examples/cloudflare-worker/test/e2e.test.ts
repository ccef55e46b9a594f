import { exampleSuite } from '../../e2e';

// Bundles the worker (`npm run build:app`) and runs it on workerd from npm (`npm start`), as the
// README says, driven with the ittybit-webhooks CLI.
exampleSuite({ name: 'cloudflare-worker', build: true, buildTimeoutMs: 60_000 });
