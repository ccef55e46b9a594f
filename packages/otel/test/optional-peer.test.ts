// `@opentelemetry/api` is an optional peer: the built package is installed alone in a temporary
// folder (outside this repository, so nothing resolves from its node_modules) and run by Node,
// as ESM and as CommonJS, without the API and then with it.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('..', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const dist = join(here, 'dist');
const run = promisify(execFile);

let dir: string;

function install(withApi: boolean): string {
  const project = mkdtempSync(join(dir, withApi ? 'with-api-' : 'without-api-'));
  const target = join(project, 'node_modules/@ittybit-webhooks/otel');
  mkdirSync(target, { recursive: true });
  cpSync(dist, join(target, 'dist'), { recursive: true });
  cpSync(join(here, 'package.json'), join(target, 'package.json'));
  if (withApi) {
    mkdirSync(join(project, 'node_modules/@opentelemetry'), { recursive: true });
    symlinkSync(
      join(root, 'node_modules/@opentelemetry/api'),
      join(project, 'node_modules/@opentelemetry/api'),
    );
  }
  return project;
}

async function node(cwd: string, type: 'module' | 'commonjs', source: string) {
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, '-e', source], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim()) as Record<string, unknown>;
}

// Which modules of the API are in Node's CommonJS cache (the package loads it with require).
const LOADED = `Object.keys(require.cache).some((f) => f.includes('@opentelemetry'))`;

const ESM = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url + '/');
const { otelTelemetry } = await import('@ittybit-webhooks/otel');
const out = { imported: typeof otelTelemetry, loadedOnImport: ${LOADED} };
try {
  const probe = otelTelemetry().start({ method: 'POST' });
  probe.end({ status: 200, code: 'received', duplicate: false });
  out.value = probe.handler(() => 42, { topic: 'task.succeeded', key: 'evt_1' });
  out.loadedOnCall = ${LOADED};
} catch (error) { out.error = error.message; }
console.log(JSON.stringify(out));`;

const CJS = `const { otelTelemetry } = require('@ittybit-webhooks/otel');
const out = { imported: typeof otelTelemetry, loadedOnImport: ${LOADED} };
try {
  const probe = otelTelemetry().start({ method: 'POST' });
  probe.end({ status: 200, code: 'received', duplicate: false });
  out.value = probe.handler(() => 42, { topic: 'task.succeeded', key: 'evt_1' });
  out.loadedOnCall = ${LOADED};
} catch (error) { out.error = error.message; }
console.log(JSON.stringify(out));`;

beforeAll(() => {
  if (!existsSync(join(dist, 'index.js'))) {
    throw new Error(`${dist} is missing: run npm run build -w @ittybit-webhooks/otel first.`);
  }
  dir = mkdtempSync(join(tmpdir(), 'ittybit-otel-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('without @opentelemetry/api installed', () => {
  for (const [type, source] of [
    ['module', ESM],
    ['commonjs', CJS],
  ] as const) {
    it(`${type}: the package imports; otelTelemetry() throws naming the package to install`, async () => {
      const out = await node(install(false), type, source);
      expect(out).toEqual({
        imported: 'function',
        loadedOnImport: false,
        error: expect.stringContaining('npm install @opentelemetry/api'),
      });
    });
  }
});

describe('with @opentelemetry/api installed and no SDK registered', () => {
  for (const [type, source] of [
    ['module', ESM],
    ['commonjs', CJS],
  ] as const) {
    it(`${type}: the API loads only when otelTelemetry() is called; no-op spans, the handler's value returned`, async () => {
      const out = await node(install(true), type, source);
      expect(out).toEqual({
        imported: 'function',
        loadedOnImport: false,
        value: 42,
        loadedOnCall: true,
      });
    });
  }
});
