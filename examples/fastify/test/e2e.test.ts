import { exampleSuite } from '../../e2e';

// Boots `npm start` (as the README says) and drives it with `npx @ittybit-webhooks/cli`'s bin.
// The plugin answers every method on its path: a GET gets the receiver's 405.
exampleSuite({ name: 'fastify', get: { status: 405, allow: 'POST' } });
