import { exampleSuite } from '../../e2e';

// Boots `npm start` (the function behind its local Function URL, invoked through lambda-local, as
// the README says) and drives it with the ittybit-webhooks CLI.
exampleSuite({ name: 'lambda' });
