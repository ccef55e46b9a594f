// `npm run test:faults`: the fault suite (packages/store-processes/test), not part of `npm test`:
// it starts its own redis-server and receiver processes on the built packages and runs for a few
// minutes. First the in-process MemoryStore fault alone (its 300 ms lease must not compete for
// the CPU); then the Redis, PostgreSQL and limits files side by side (their time is mostly waiting
// on leases, backoff and injected latency). The faults of one file run one after another.
// global-setup.ts builds what is stale and prints the table at the end.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tests = 'packages/store-processes/test';

export default defineConfig({
  root,
  resolve: {
    alias: [
      { find: '#crypto', replacement: `${root}packages/core/src/crypto/node.ts` },
      {
        find: /^@ittybit-webhooks\/core\/(testing|adapter|node)$/,
        replacement: `${root}packages/core/src/$1.ts`,
      },
      { find: /^@ittybit-webhooks\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
    ],
  },
  test: {
    maxWorkers: 3,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'faults in one process',
          include: [`${tests}/memory.test.ts`],
          globalSetup: [`${tests}/global-setup.ts`],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'faults across processes',
          include: [
            `${tests}/redis.test.ts`,
            `${tests}/postgres.test.ts`,
            `${tests}/limits.test.ts`,
          ],
          globalSetup: [`${tests}/global-setup.ts`],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
