import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './server.js';

// The published command: a committed entry (so npm links it before the build) importing the
// build that `npm install` produces (prepare runs every package's build).
const bin = fileURLToPath(new URL('../bin/ittybit-webhooks.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function exec(
  args: string[],
  env: Record<string, string> = {},
  command: string[] = [process.execPath, bin],
  cwd?: string,
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
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
      '/consumed': () => ({ status: 500, body: '{"error":"body_consumed"}' }),
    });
  });
  afterAll(async () => server?.close());

  it('is the package.json bin, an executable file with a node shebang', async () => {
    const { stat } = await import('node:fs/promises');
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

  it('prints the version of its package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    const { code, stdout } = await exec(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });

  it('prints each answer with its reason', async () => {
    const { code, stdout } = await exec([
      'send',
      server.url('/consumed'),
      '--secret',
      's',
      '--max-attempts',
      '2',
      '--backoff-ms',
      '10',
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/ 500 body_consumed → 500 body_consumed$/m);
  });
});

describe('npx @ittybit-webhooks/cli, from packed tarballs in a fresh project', () => {
  const run = promisify(execFile);
  let project = '';
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first.`);
    server = await startServer({ '/ok': () => ({ status: 200, body: '{"received":true}' }) });
    project = await mkdtemp(join(tmpdir(), 'ittybit-cli-npx-'));
    const tarballs: string[] = [];
    for (const dir of ['core', 'cli']) {
      const { stdout } = await run(
        'npm',
        ['pack', '--ignore-scripts', '--json', '--pack-destination', project],
        { cwd: fileURLToPath(new URL(`../../${dir}/`, import.meta.url)) },
      );
      tarballs.push(join(project, JSON.parse(stdout)[0].filename));
    }
    await writeFile(join(project, 'package.json'), '{"name":"fresh","private":true}\n');
    // Offline: only the two tarballs, nothing from a registry.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...tarballs], {
      cwd: project,
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (project) await rm(project, { recursive: true, force: true });
  });

  const npx = (args: string[]) =>
    exec(args, {}, ['npx', '--offline', '@ittybit-webhooks/cli'], project);

  it("runs the package's only bin, whose version is the installed package.json's", async () => {
    const installed = join(project, 'node_modules/@ittybit-webhooks/cli/package.json');
    const pkg = JSON.parse(await readFile(installed, 'utf8'));
    expect(Object.keys(pkg.bin)).toEqual(['ittybit-webhooks']);
    const { code, stdout } = await npx(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
    // Read at run time, not built in: a changed package.json changes the answer.
    await writeFile(installed, JSON.stringify({ ...pkg, version: '9.8.7' }));
    expect((await npx(['--version'])).stdout).toBe('9.8.7\n');
    await writeFile(installed, JSON.stringify(pkg));
  });

  it('sends a signed run.succeeded event', async () => {
    const { code, stdout } = await npx([
      'send',
      server.url('/ok'),
      '--secret',
      'whsec_test',
      '--topic',
      'run.succeeded',
    ]);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^POST \S+ {2}run\.succeeded evt_\w+ \(run_\w+\) × 1/);
    expect(JSON.parse(server.on('/ok').at(-1)!.body.toString())).toMatchObject({
      object: 'event',
      kind: 'run.succeeded',
      data: { object: 'run', status: 'succeeded' },
    });
  });
});
