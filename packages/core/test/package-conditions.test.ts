// Checks the BUILT package (dist/, made by `npm run build`, which `npm install` runs): the crypto
// implementation must be chosen by package.json conditions, not by run-time sniffing.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const dist = `${pkgDir}dist/`;

describe('package conditions (built dist)', () => {
  beforeAll(() => {
    if (!existsSync(`${dist}index.js`)) {
      throw new Error('packages/core/dist is missing: run `npm run build` (npm install does it).');
    }
  });

  it('resolves #crypto to node:crypto under Node, for require and import', async () => {
    const require = createRequire(`${dist}index.cjs`);
    expect(require.resolve('#crypto')).toBe(`${dist}crypto/node.cjs`);
    const cjs = require(`${dist}index.cjs`) as typeof import('../src/index.js');
    const esm = (await import(`${dist}index.js`)) as typeof import('../src/index.js');
    for (const mod of [cjs, esm]) {
      expect(await mod.signPayload('', 'test_secret')).toBe(
        'f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd',
      );
    }
  });

  it.each([
    ['a Worker/Deno/browser bundle (no node condition)', 'neutral', ['worker', 'browser'], 'web'],
    ['a Node bundle', 'node', [], 'node'],
  ] as const)('picks the %s implementation', async (_name, platform, conditions, expected) => {
    const result = await build({
      entryPoints: [`${dist}index.js`],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform,
      conditions: [...conditions],
      external: ['node:*'],
      logLevel: 'silent',
      // Resolve as a consumer would: ignore this repo's tsconfig paths.
      tsconfigRaw: {},
    });
    const inputs = Object.keys(result.metafile.inputs).join('\n');
    expect(inputs).toContain(`crypto/${expected}.js`);
    expect(inputs).not.toContain(`crypto/${expected === 'web' ? 'node' : 'web'}.js`);
    const code = result.outputFiles[0]!.text;
    if (expected === 'web') expect(code).not.toContain('node:crypto');
  });

  it('ships both implementations and declares the conditions in package.json', () => {
    const pkg = JSON.parse(readFileSync(`${pkgDir}package.json`, 'utf8'));
    expect(Object.keys(pkg.imports['#crypto'])).toEqual(['node', 'default']);
    for (const file of ['crypto/node.js', 'crypto/node.cjs', 'crypto/web.js', 'crypto/web.cjs']) {
      expect(existsSync(dist + file), file).toBe(true);
    }
    expect(readFileSync(`${dist}crypto/web.js`, 'utf8')).not.toContain('node:');
  });
});
