import { exampleSuite } from '../../e2e';

// Boots `npm start` (as the README says) and drives it with `npx @ittybit-webhooks/cli`'s bin.
// router.allowedMethods() answers a GET to the POST-only route with 405 and Allow: POST.
exampleSuite({ name: 'koa', get: { status: 405, allow: 'POST' } });
