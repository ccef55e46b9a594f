// `npm run test:examples`: every example's e2e test and the README snippets, each booting the real app (built packages,
// real processes, 127.0.0.1 only). One file at a time: Next.js' production build wants both cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['examples/*/test/**/*.test.ts', 'test/readme-snippets.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 360_000,
  },
});
