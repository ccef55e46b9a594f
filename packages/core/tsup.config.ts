import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    adapter: 'src/adapter.ts',
    node: 'src/node.ts',
    testing: 'src/testing.ts',
    'crypto/node': 'src/crypto/node.ts',
    'crypto/web': 'src/crypto/web.ts',
  },
  format: ['esm', 'cjs'],
  dts: {
    entry: {
      index: 'src/index.ts',
      adapter: 'src/adapter.ts',
      node: 'src/node.ts',
      testing: 'src/testing.ts',
    },
    // Types of `#crypto` for the declaration build only. Not in tsconfig.json: bundlers inside this
    // repo (esbuild for the Worker example) would follow such a path to the Node implementation.
    compilerOptions: { paths: { '#crypto': ['./src/crypto/node.ts'] } },
  },
  // Resolved by the consumer through package.json "imports": node:crypto on Node, Web Crypto elsewhere.
  external: ['#crypto'],
  target: 'node20',
  platform: 'neutral',
  clean: true,
  sourcemap: false,
});
