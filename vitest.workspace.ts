// The test projects. Tests import every package from its TypeScript source (no build needed);
// tests that start separate processes use the built `dist/` that `npm install` produces.
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Workspace packages from source; `#crypto` is core's Node or Web Crypto implementation. */
function sourceAliases(crypto: 'node' | 'web') {
  return [
    { find: '#crypto', replacement: `${root}packages/core/src/crypto/${crypto}.ts` },
    {
      find: /^@ittybit-webhooks\/core\/(testing|adapter|node)$/,
      replacement: `${root}packages/core/src/$1.ts`,
    },
    { find: /^@ittybit-webhooks\/([a-z-]+)$/, replacement: `${root}packages/$1/src/index.ts` },
  ];
}

const project = (name: string, include: string[], crypto: 'node' | 'web' = 'node') =>
  defineProject({
    resolve: { alias: sourceAliases(crypto) },
    test: { name, include, testTimeout: 20_000, hookTimeout: 30_000 },
  });

const coreTests = ['packages/core/test/**/*.test.ts', 'packages/store-contract/test/**/*.test.ts'];

export default [
  project('core (node:crypto)', coreTests, 'node'),
  // The same tests again on the Web Crypto implementation that Deno, Bun and Workers get.
  project('core (web crypto)', coreTests, 'web'),
  project('adapters', ['packages/{express,fastify,koa,web}/test/**/*.test.ts']),
  project('conformance', ['packages/conformance/test/**/*.test.ts']),
  project('stores', ['packages/{redis,postgres}/test/**/*.test.ts']),
  project('cli', ['packages/cli/test/**/*.test.ts']),
  project('otel', ['packages/otel/test/**/*.test.ts']),
  project('nestjs', ['packages/nestjs/test/**/*.test.ts']),
  project('lambda', ['packages/lambda/test/**/*.test.ts']),
];

/** The HTTP fuzz suite: its own step (`npm run test:fuzz`), so it runs alone within its time budget. */
export const fuzz = project('fuzz', ['packages/fuzz/test/**/*.test.ts']);
