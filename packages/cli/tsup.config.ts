import { defineConfig } from 'tsup';

// Core's types come from its source while building, so this package builds even when npm's
// workspace order runs it before core's own build (a fresh `npm install` does).
const compilerOptions = {
  paths: {
    '#crypto': ['../core/src/crypto/node.ts'],
    '@ittybit-webhooks/core': ['../core/src/index.ts'],
    '@ittybit-webhooks/core/testing': ['../core/src/testing.ts'],
  },
};

// Loaded only by `dead-letters`, when present (optionalDependencies): never bundled.
const external = ['@ittybit-webhooks/redis', '@ittybit-webhooks/postgres', 'ioredis', 'pg'];

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { compilerOptions },
    // The CommonJS build gets an `import.meta.url` (the version is read from package.json by it).
    shims: true,
    target: 'node20',
    platform: 'node',
    external,
    clean: false,
  },
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    external,
    clean: false,
  },
]);
