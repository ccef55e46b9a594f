import { defineConfig } from 'tsup';

// Core's types come from its source while building, so this package builds whatever order npm's
// workspaces build in.
const compilerOptions = {
  paths: {
    '#crypto': ['../core/src/crypto/node.ts'],
    '@ittybit-webhooks/core': ['../core/src/index.ts'],
  },
};

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: { compilerOptions },
  // The CommonJS build gets an `import.meta.url` (the API is loaded relative to this file).
  shims: true,
  target: 'node20',
  platform: 'node',
  clean: true,
});
