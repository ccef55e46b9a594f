import { defineConfig } from 'vitest/config';

// Real processes, real Redis: generous timeouts, one file at a time.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
