import { exampleSuite } from '../../e2e';

// Boots `npm start` (as the README says) and drives it with the ittybit-webhooks CLI.
exampleSuite({ name: 'fastify' });
