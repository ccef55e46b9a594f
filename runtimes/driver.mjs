// `npm run test:runtimes`: runs check.mjs (core's signature vectors and the Web adapter's answers,
// against the built dist/) on every runtime the Web adapter claims, prints a runtime x result
// table and exits non-zero if any runtime failed or is missing.
//
// The binaries come from npm packages that ship them (runtimes/package.json, installed by
// `npm ci --prefix runtimes`), kept out of the workspace so `npm install` stays light.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..');
const bin = (path) => join(here, 'node_modules', path);
const TIMEOUT_MS = 60_000;

/**
 * Stages the checks as a user's app would see the packages: `npm pack` of core and web unpacked
 * into node_modules of a folder outside the repo (only the published files, no tsconfig `paths`,
 * which Bun would otherwise follow to the TypeScript sources).
 */
async function stage() {
  const dir = mkdtempSync(join(tmpdir(), 'ittybit-runtimes-'));
  const packed = await run(
    'npm',
    [
      'pack',
      '--silent',
      '--ignore-scripts',
      '--pack-destination',
      dir,
      '-w',
      '@ittybit-webhooks/core',
      '-w',
      '@ittybit-webhooks/web',
    ],
    { cwd: repo },
  );
  if (packed.code !== 0) throw new Error(`npm pack failed\n${packed.stderr}`);
  for (const [name, tarball] of [
    ['core', packed.stdout.match(/\S*core-[\d.]+\.tgz/)?.[0]],
    ['web', packed.stdout.match(/\S*web-[\d.]+\.tgz/)?.[0]],
  ]) {
    if (!tarball) throw new Error(`npm pack printed no ${name} tarball\n${packed.stdout}`);
    const target = join(dir, 'node_modules', '@ittybit-webhooks', name);
    mkdirSync(target, { recursive: true });
    const untar = await run('tar', [
      '-xzf',
      join(dir, tarball),
      '-C',
      target,
      '--strip-components=1',
    ]);
    if (untar.code !== 0) throw new Error(`tar failed\n${untar.stderr}`);
  }
  for (const file of ['check.mjs', 'run.mjs', 'worker.mjs']) {
    copyFileSync(join(here, file), join(dir, file));
  }
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  return dir;
}

/** Runs a command to completion (bounded); resolves with its exit code and output. */
function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: here, detached: true, ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => killGroup(child), options.timeout ?? TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(error) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function parseResult(text) {
  const line = text
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error('no result printed');
  return JSON.parse(line);
}

async function version(command, args) {
  const { code, stdout } = await run(command, args, { timeout: 15_000 });
  // `deno --version` says `deno 2.x.y (stable, ...)`, workerd `workerd 2026-11-17`: keep the number.
  const number = stdout.match(/\d+[.-]\d+[.-]\d+/)?.[0];
  return code === 0 ? (number ?? stdout.trim()) : '?';
}

/** Node, Bun, Deno: resolve the packages themselves (node_modules + package.json conditions). */
function processRuntime(name, command, args, versionArgs) {
  return {
    name,
    command,
    async run() {
      const v = await version(command, versionArgs);
      const { code, stdout, stderr } = await run(command, [...args, 'run.mjs'], { cwd: app });
      if (code !== 0) throw new Error(`exit ${code}\n${stderr || stdout}`);
      return { version: v, ...parseResult(stdout) };
    },
  };
}

/**
 * workerd runs one bundled module, as wrangler would build it: esbuild with the conditions
 * wrangler uses for Workers (`workerd`, `worker`, `browser`), and no nodejs_compat flag, so core
 * must take the `default` (Web Crypto) branch of its `#crypto` import map.
 */
function workerdRuntime() {
  const command = bin('@cloudflare/workerd-linux-64/bin/workerd');
  return {
    name: 'workerd',
    command,
    async run() {
      const v = await version(command, ['--version']);
      const out = join(app, '.build');
      mkdirSync(out, { recursive: true });
      await build({
        entryPoints: [join(app, 'worker.mjs')],
        outfile: `${out}/worker.js`,
        bundle: true,
        format: 'esm',
        platform: 'neutral',
        conditions: ['workerd', 'worker', 'browser'],
        mainFields: ['module', 'main'],
        tsconfigRaw: {},
        logLevel: 'error',
      });
      const port = await freePort();
      writeFileSync(
        `${out}/config.capnp`,
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
);
`,
      );
      const child = spawn(command, ['serve', `${out}/config.capnp`], {
        cwd: out,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let logs = '';
      child.stdout.on('data', (d) => {
        logs += d;
      });
      child.stderr.on('data', (d) => {
        logs += d;
      });
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}\n${logs}`);
          try {
            const res = await fetch(`http://127.0.0.1:${port}/`, {
              signal: AbortSignal.timeout(TIMEOUT_MS),
            });
            return { version: v, ...parseResult(await res.text()) };
          } catch (error) {
            if (Date.now() > deadline) throw new Error(`${error}\n${logs}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      } finally {
        killGroup(child);
      }
    },
  };
}

const runtimes = [
  processRuntime('Node 20 (host)', process.execPath, [], ['--version']),
  processRuntime('Node 22', bin('node22/bin/node'), [], ['--version']),
  processRuntime('Node 24', bin('node24/bin/node'), [], ['--version']),
  processRuntime('Bun', bin('@oven/bun-linux-x64/bin/bun'), [], ['--version']),
  processRuntime('Deno', bin('@deno/linux-x64-glibc/deno'), ['run', '--allow-read'], ['--version']),
  workerdRuntime(),
];

const app = await stage();
const rows = [];
let failures = 0;
for (const runtime of runtimes) {
  let row;
  if (!existsSync(runtime.command)) {
    row = { name: runtime.name, version: '-', crypto: '-', passed: 0, total: 0, error: 'missing' };
  } else {
    try {
      const result = await runtime.run();
      const failed = result.checks.filter((c) => !c.ok);
      row = {
        name: runtime.name,
        version: result.version,
        crypto: result.crypto,
        passed: result.checks.length - failed.length,
        total: result.checks.length,
        error: failed.map((c) => `${c.name}: ${c.detail}`).join('\n'),
      };
    } catch (error) {
      row = {
        name: runtime.name,
        version: '?',
        crypto: '?',
        passed: 0,
        total: 0,
        error: String(error),
      };
    }
  }
  if (row.error || row.total === 0) failures += 1;
  rows.push(row);
}

const table = [
  ['runtime', 'version', '#crypto used', 'checks', 'result'],
  ...rows.map((r) => [
    r.name,
    r.version,
    r.crypto,
    `${r.passed}/${r.total}`,
    r.error || r.total === 0 ? 'FAIL' : 'pass',
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(table[0]));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
rmSync(app, { recursive: true, force: true });
for (const r of rows.filter((r) => r.error)) console.log(`\n${r.name} failed:\n${r.error}`);
console.log(`\nruntimes: ${rows.length - failures} passed, ${failures} failed`);
process.exitCode = failures === 0 ? 0 : 1;
