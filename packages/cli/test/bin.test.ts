import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './server.js';

// The published command: a committed entry (so npm links it before the build) importing the
// build that `npm install` produces (prepare runs every package's build).
const bin = fileURLToPath(new URL('../bin/ittybit-webhooks.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function exec(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end('{"obj1":"hello","obj2":"world"}');
  });
}

describe('the built ittybit-webhooks command', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    if (!existsSync(built)) {
      throw new Error(`${built} is missing: run npm run build -w @ittybit-webhooks/cli first.`);
    }
    server = await startServer({
      '/flaky': (n) => ({ status: n === 0 ? 502 : 200 }),
      '/bad': () => ({ status: 400 }),
    });
  });
  afterAll(async () => server?.close());

  it('is the package.json bin, an executable file with a node shebang', async () => {
    const { readFile, stat } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    expect(fileURLToPath(new URL(`../${pkg.bin['ittybit-webhooks']}`, import.meta.url))).toBe(bin);
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect((await stat(bin)).mode & 0o111).not.toBe(0);
  });

  it('signs standard input with the secret from the environment', async () => {
    const { code, stdout } = await exec(['sign', '-'], { ITTYBIT_WEBHOOK_SECRET: 'test_secret' });
    expect(code).toBe(0);
    expect(stdout).toBe(
      'Ittybit-Signature: bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363\n',
    );
  });

  it('exits 0 after a retried 5xx, 1 on a 4xx, 2 on a missing secret', async () => {
    const ok = await exec(['send', server.url('/flaky'), '--secret', 's', '--backoff-ms', '10']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/502 → 200/);
    const bad = await exec(['send', server.url('/bad'), '--secret', 's']);
    expect(bad.code).toBe(1);
    const noSecret = await exec(['send', server.url('/bad')]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/no secret/);
  });
});
