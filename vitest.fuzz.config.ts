// `npm run test:fuzz`: the HTTP fuzz suite on its own (it has a time budget, so it does not share
// the machine with the other projects of `npm test`).
import { defineConfig } from 'vitest/config';
import { fuzz } from './vitest.workspace';

export default defineConfig({ test: { projects: [fuzz] } });
