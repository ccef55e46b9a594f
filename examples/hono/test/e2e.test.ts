import { exampleSuite } from '../../e2e';

// Boots `npm start` (as the README says) and drives it with `npx @ittybit-webhooks/cli`'s bin.
// app.all hands every method to the handler: a GET gets the receiver's 405.
exampleSuite({ name: 'hono', get: { status: 405, allow: 'POST' } });
