// The README opens with a whole Nest app: this compiles that first ```ts block the way Nest apps
// are compiled (experimentalDecorators, emitDecoratorMetadata), runs it with node (the built
// packages) on a free port, and sends it a signed delivery, a forged one and a JSON request.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { signedDelivery } from '@ittybit-webhooks/test-helpers';
import ts from 'typescript';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));
// Inside the repo's node_modules so that the snippet's imports resolve to the workspace packages.
const scratch = `${root}node_modules/.cache/nestjs-readme/`;
const SECRET = 'whsec_nestjs_readme';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

it('the README snippet runs: 200 signed, 401 forged, JSON routes still parsed', async () => {
  const text = readFileSync(readme, 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(text);
  expect(match?.[1], 'a ```ts block').toBeDefined();
  expect(text.slice(0, match!.index).trim().split('\n'), 'nothing but the title before it').toEqual(
    ['# @ittybit-webhooks/nestjs'],
  );
  const { outputText } = ts.transpileModule(match![1]!, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
  });
  mkdirSync(scratch, { recursive: true });
  const file = `${scratch}main.mjs`;
  writeFileSync(file, outputText);
  const port = await freePort();
  let output = '';
  child = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: String(port), ITTYBIT_WEBHOOK_SECRET: SECRET, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the snippet exited:\n${output}`);
    try {
      await fetch(`${base}/webhooks/ittybit`, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`the snippet never listened:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const { task, body, headers } = await signedDelivery(SECRET);
  const signed = await fetch(`${base}/webhooks/ittybit`, { method: 'POST', body, headers });
  const forged = await fetch(`${base}/webhooks/ittybit`, {
    method: 'POST',
    body,
    headers: { ...headers, 'ittybit-signature': 'ab'.repeat(32) },
  });
  const json = await fetch(`${base}/api/things`, {
    method: 'POST',
    body: '{"name":"thing"}',
    headers: { 'content-type': 'application/json' },
  });

  expect(signed.status).toBe(200);
  expect(forged.status).toBe(401);
  expect(await json.json()).toEqual({ got: { name: 'thing' } });
  await expect.poll(() => output).toContain(`[Exports] export ${task.id} ready:`);
  expect(output).toContain('WARN [IttybitWebhook] 401 invalid_signature');
});
