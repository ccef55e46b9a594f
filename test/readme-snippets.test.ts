// What a newcomer copies from a README must work as it stands. Every fenced ```js / ```ts block
// that has an `import` is a complete program, and this file proves two things about each:
//
// - it type-checks under `strict`, as a TypeScript file on its own, with both `nodenext` and
//   `bundler` module resolution, against the built packages (a JS snippet pasted into a .ts file
//   must not leave `task` implicitly `any`);
// - it runs: servers are started as their first line says (`node server.mjs`, TypeScript through
//   tsx) on a free port, then sent a real signed delivery (200, and the handler's log line names
//   the task), a forged one (401) and a GET (the status and `Allow` the README promises); scripts
//   run to a clean exit. Next.js route modules and Workers are served the way their runtime calls
//   them.
//
// Blocks without an `import` are fragments and are not run. Redis and PostgreSQL snippets use the
// local services. Needs the built packages: `npm run build`.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../examples/e2e.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repo's node_modules, so that imports resolve to the workspace packages' builds.
const scratch = `${root}node_modules/.cache/readme-snippets/`;
const SECRET = 'whsec_readme';

/** What a GET to the webhook path gets, as the README says. */
interface GetAnswer {
  status: number;
  /** The `Allow` header, when the answer is a 405 of the receiver's. */
  allow?: string;
}

/** How a complete block is proven to run. */
type Check =
  | {
      /** A server listening on PORT; deliveries go to `path`. */
      kind: 'server';
      path: string;
      get: GetAnswer;
      /** More checks on the running server. */
      extra?: (url: string, child: ChildProcess) => Promise<void>;
    }
  /** A Next.js route module (`export const POST`), called as Next.js calls it. */
  | { kind: 'route'; path: string }
  /** A module Worker (`export default { fetch }`), called as workerd calls it. */
  | { kind: 'worker'; path: string; get: GetAnswer }
  /** A Google Cloud Function, run by the Functions Framework's own CLI. */
  | { kind: 'gcf'; target: string; get: GetAnswer }
  /**
   * Not a program after all: it names a package this repository does not install, or leaves
   * handlers out. Neither type-checked nor run; say why.
   */
  | { kind: 'fragment'; why: string }
  /** Runs to exit 0; its output must match. */
  | { kind: 'script'; output?: RegExp }
  /** Runs to exit 0 against the server of block `server` of the same README. */
  | { kind: 'client'; server: number; output: RegExp };

const notFound: GetAnswer = { status: 404 };
const notAllowed: GetAnswer = { status: 405, allow: 'POST' };

/** Every README with snippets, and one check per complete block, in order. */
const readmes: Record<string, Check[]> = {
  'README.md': [{ kind: 'server', path: '/webhooks/ittybit', get: notFound }],
  'packages/core/README.md': [
    { kind: 'server', path: '/', get: notAllowed, extra: bounded },
    { kind: 'script' },
    { kind: 'script' },
    { kind: 'script', output: /^run run\.succeeded$/m },
    {
      kind: 'client',
      server: 0,
      output: /^task\.created 200\n(.+ 200\n){6}run\.failed 200$/m,
    },
  ],
  'packages/express/README.md': [
    { kind: 'server', path: '/webhooks/ittybit', get: notFound },
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'server', path: '/webhooks/ittybit', get: notFound },
    { kind: 'gcf', target: 'ittybitWebhook', get: notAllowed },
    {
      kind: 'fragment',
      why: 'Firebase: firebase-functions is not installed here; handlers elided',
    },
  ],
  'packages/fastify/README.md': [
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'server', path: '/hooks/ittybit', get: notAllowed },
  ],
  'packages/koa/README.md': [
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'server', path: '/webhooks/ittybit', get: notFound },
  ],
  'packages/web/README.md': [
    { kind: 'route', path: '/webhooks/ittybit' },
    { kind: 'server', path: '/webhooks/ittybit', get: notAllowed },
    { kind: 'worker', path: '/webhooks/ittybit', get: notAllowed },
  ],
  'packages/redis/README.md': [{ kind: 'server', path: '/webhooks/ittybit', get: notFound }],
  'packages/postgres/README.md': [{ kind: 'server', path: '/webhooks/ittybit', get: notFound }],
};

interface Block {
  readme: string;
  /** Position among the README's complete blocks. */
  index: number;
  lang: 'js' | 'ts';
  code: string;
  /** A file name for it (no extension). */
  slug: string;
}

function completeBlocks(readme: string): Block[] {
  const text = readFileSync(root + readme, 'utf8');
  const found: Block[] = [];
  for (const match of text.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)) {
    const code = match[2] ?? '';
    if (!/^import /m.test(code)) continue;
    const index = found.length;
    found.push({
      readme,
      index,
      lang: match[1] as 'js' | 'ts',
      code,
      slug: `${readme.replace(/\/?README\.md$/, '').replaceAll('/', '_') || 'root'}-${index}`,
    });
  }
  return found;
}

const blocks = Object.keys(readmes).flatMap(completeBlocks);
const checkOf = (block: Block) => readmes[block.readme]?.[block.index];
/** The blocks that are programs: type-checked and run. */
const programs = blocks.filter((block) => checkOf(block)?.kind !== 'fragment');

// ---------------------------------------------------------------------------------------------
// Type-checking, in process: one program per snippet (a snippet must not lean on another's
// imports or module augmentations), parsed declaration files shared between the programs.

type Mode = 'nodenext' | 'bundler';

function compilerOptions(mode: Mode): ts.CompilerOptions {
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    skipLibCheck: true,
    ...(mode === 'nodenext'
      ? { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext }
      : { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }),
  };
}

function typecheck(files: string[], mode: Mode): string[] {
  const options = compilerOptions(mode);
  const host = ts.createCompilerHost(options);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, version, onError, shouldCreate) => {
    if (fileName.startsWith(scratch)) return read(fileName, version, onError, shouldCreate);
    if (!parsed.has(fileName)) parsed.set(fileName, read(fileName, version, onError, shouldCreate));
    return parsed.get(fileName);
  };
  const errors: string[] = [];
  for (const file of files) {
    const program = ts.createProgram({ rootNames: [file], options, host });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length === 0) continue;
    errors.push(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (name) => name,
        getCurrentDirectory: () => scratch,
        getNewLine: () => '\n',
      }),
    );
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Running.

const children = new Set<ChildProcess>();

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.delete(child);
}

beforeAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  // The snippets are ES modules, as `node server.mjs` runs them.
  writeFileSync(`${scratch}package.json`, '{"type":"module","private":true}\n');
  for (const block of blocks) {
    writeFileSync(`${scratch}${block.slug}.ts`, block.code);
    if (block.lang === 'js') writeFileSync(`${scratch}${block.slug}.mjs`, block.code);
  }
  writeFileSync(`${scratch}harness.mjs`, HARNESS);
});

afterAll(() => {
  for (const child of children) stop(child);
  rmSync(scratch, { recursive: true, force: true });
});

// Serves a Next.js route module or a module Worker on PORT through node:http, calling it the way
// its runtime does: Next.js calls the export named after the method with `{ params }` (and
// answers 405 itself when there is none); workerd calls `fetch(request, env, ctx)`.
const HARNESS = `import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
const [file, kind] = process.argv.slice(2);
const mod = await import(pathToFileURL(file).href);
const env = { ITTYBIT_WEBHOOK_SECRET: process.env.ITTYBIT_WEBHOOK_SECRET };
const ctx = { waitUntil: (promise) => promise.catch(() => {}) };
createServer(async (req, res) => {
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Readable.toWeb(req);
  const request = new Request('http://127.0.0.1' + req.url, {
    method: req.method, headers: req.headers, body, duplex: 'half',
  });
  let response;
  if (kind === 'worker') response = await mod.default.fetch(request, env, ctx);
  else if (typeof mod[req.method] === 'function') {
    response = await mod[req.method](request, { params: Promise.resolve({}) });
  } else response = new Response(null, { status: 405 });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Started {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

const functionsFramework = `${root}node_modules/@google-cloud/functions-framework/build/src/main.js`;

function start(block: Block, env: Record<string, string>, check?: Check): Started {
  const file = `${scratch}${block.slug}.${block.lang === 'js' ? 'mjs' : 'ts'}`;
  const args =
    check?.kind === 'route' || check?.kind === 'worker'
      ? ['--import', 'tsx', `${scratch}harness.mjs`, file, check.kind]
      : check?.kind === 'gcf'
        ? [functionsFramework, `--target=${check.target}`, `--source=${file}`, `--port=${env.PORT}`]
        : block.lang === 'ts'
          ? ['--import', 'tsx', file]
          : [file];
  const child = spawn(process.execPath, args, {
    cwd: scratch,
    env: {
      ...process.env,
      ITTYBIT_WEBHOOK_SECRET: SECRET,
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, output: () => output, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listening(started: Started, url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`never listened:\n${started.output()}`);
      await sleep(100);
    }
  }
}

async function eventually(check: () => void, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** A signed delivery (200, the handler logs the task id), a forged one (401), and a GET. */
async function deliveries(url: string, started: Started, get: GetAnswer | undefined) {
  const event = createTestEvent('task.succeeded', { metadata: { exportId: 'exp_readme' } });
  const taskId = (event.data as { id: string }).id;
  const signed = await createTestDelivery(event, SECRET);
  // Like the sender, retry a 5xx (a store still connecting answers 503).
  let ok = await fetch(url, { method: 'POST', ...signed });
  for (let attempt = 1; ok.status >= 500 && attempt < 10; attempt += 1) {
    await sleep(500);
    ok = await fetch(url, { method: 'POST', ...signed });
  }
  expect(ok.status, started.output()).toBe(200);
  expect(await ok.json()).toEqual({ received: true });
  const again = await fetch(url, { method: 'POST', ...signed });
  expect(again.headers.get('ittybit-webhook-duplicate'), 'a redelivery is a duplicate').toBe(
    'true',
  );
  const forged = await createTestDelivery(event, 'not-the-secret');
  expect((await fetch(url, { method: 'POST', ...forged })).status).toBe(401);
  await eventually(() => expect(started.output()).toContain(taskId));
  if (get) {
    const res = await fetch(url);
    expect(res.status, 'GET').toBe(get.status);
    if (get.allow) expect(res.headers.get('allow')).toBe(get.allow);
  }
}

/** Resident memory of a process, in bytes (Linux). */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line?.[1] ?? Number.NaN) * 1024;
}

/**
 * POSTs `total` bytes, chunked unless `length` is declared, and resolves with the answer's
 * status, or `undefined` when the server cut the connection without one.
 */
function upload(url: string, total: number, length?: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'ittybit-signature': 'ab'.repeat(32),
    };
    if (length !== undefined) headers['content-length'] = String(length);
    const req = httpRequest(url, { method: 'POST', headers });
    let status: number | undefined;
    let done = false;
    req.on('response', (res) => {
      status = res.statusCode;
      done = true;
      res.resume();
      req.destroy();
      resolve(status);
    });
    req.on('error', () => {
      done = true;
      setTimeout(() => resolve(status), 50);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const write = async () => {
      for (let sent = 0; sent < total && !done; sent += chunk.length) {
        if (!req.write(chunk)) {
          await new Promise<void>((ok) => {
            const go = () => {
              req.off('drain', go);
              req.off('close', go);
              ok();
            };
            req.on('drain', go);
            req.on('close', go);
          });
        }
      }
      if (!done) req.end();
    };
    void write();
  });
}

/** The core snippet reads bodies with a limit: 413 both ways, and its memory stays flat. */
async function bounded(url: string, child: ChildProcess): Promise<void> {
  const MiB = 1024 * 1024;
  expect(await upload(url, 2 * MiB, 2 * MiB), 'declared 2 MiB').toBe(413);
  const before = rss(child.pid!);
  expect(await upload(url, 64 * MiB), 'chunked 64 MiB').toBe(413);
  const grown = rss(child.pid!) - before;
  expect(grown, `RSS grew ${Math.round(grown / MiB)} MiB`).toBeLessThan(24 * MiB);
}

// ---------------------------------------------------------------------------------------------

describe('README snippets', () => {
  it.each(Object.keys(readmes))('%s: one check per complete block, snippet first', (readme) => {
    const found = completeBlocks(readme);
    expect(found.length, `${readme}: complete blocks (with an import)`).toBe(
      readmes[readme]?.length,
    );
    // A package README opens with its snippet: nothing but the title before it.
    if (readme.startsWith('packages/')) {
      const text = readFileSync(root + readme, 'utf8');
      expect(text.slice(0, text.indexOf('```')).trim().split('\n'), readme).toHaveLength(1);
    }
  });

  it.each(['nodenext', 'bundler'] as const)(
    'every complete block type-checks under strict (%s resolution)',
    (mode) => {
      const errors = typecheck(
        programs.map((block) => `${scratch}${block.slug}.ts`),
        mode,
      );
      expect(errors.join('\n')).toBe('');
    },
    240_000,
  );

  it('the type check itself catches what strict forbids', () => {
    const file = `${scratch}implicit-any.ts`;
    writeFileSync(
      file,
      "import { EventEmitter } from 'node:events';\nexport const on = (task) => new EventEmitter().emit('x', task);\n",
    );
    expect(typecheck([file], 'bundler').join('\n')).toContain(
      "error TS7006: Parameter 'task' implicitly has an 'any' type.",
    );
  }, 120_000);

  const runnable = programs.map((block) => ({
    block,
    check: checkOf(block)!,
    name: `${block.readme} block ${block.index + 1}: ${block.code.split('\n')[0]}`,
  }));

  it.each(runnable)('$name runs', async ({ block, check }) => {
    if (check.kind === 'script') {
      const started = start(block, {});
      const code = await Promise.race([started.exited, sleep(20_000).then(() => 'timeout')]);
      expect(code, started.output()).toBe(0);
      if (check.output) expect(started.output()).toMatch(check.output);
      return;
    }
    const port = await freePort();
    const env = { PORT: String(port) };
    if (check.kind === 'client') {
      const serverBlock = blocks.find(
        (b) => b.readme === block.readme && b.index === check.server,
      )!;
      const server = start(serverBlock, env);
      try {
        await listening(server, `http://127.0.0.1:${port}/`);
        const client = start(block, env);
        const code = await Promise.race([client.exited, sleep(20_000).then(() => 'timeout')]);
        expect(code, client.output()).toBe(0);
        expect(client.output()).toMatch(check.output);
      } finally {
        stop(server.child);
      }
      return;
    }
    if (check.kind === 'fragment') return;
    const started = start(block, env, check);
    const url = `http://127.0.0.1:${port}${check.kind === 'gcf' ? '/' : check.path}`;
    try {
      await listening(started, url);
      await deliveries(url, started, check.kind === 'route' ? undefined : check.get);
      if (check.kind === 'server') await check.extra?.(url, started.child);
    } finally {
      stop(started.child);
    }
  });
});

describe('package READMEs stand alone', () => {
  // Every published package: its README is what the registry shows.
  const published = readdirSync(`${root}packages`)
    .filter((dir) => existsSync(`${root}packages/${dir}/README.md`))
    .filter(
      (dir) => !JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8')).private,
    )
    .map((dir) => `packages/${dir}/README.md`);

  it('covers every published package', () => {
    expect(published).toContain('packages/core/README.md');
    expect(published.length).toBeGreaterThanOrEqual(8);
  });

  it.each(published)('%s links absolute URLs and cites only the repository', (readme) => {
    const text = readFileSync(root + readme, 'utf8');
    // Relative links are dead on the registry's page.
    expect(text.match(/\]\((?!https?:\/\/|#)[^)]*\)/g) ?? []).toEqual([]);
    expect(text).not.toMatch(/DESIGN\.md|SENDER\.md|STYLE\.md|\.\.\/shared/);
  });
});
