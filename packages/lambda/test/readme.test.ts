// The README opens with a function that must run as it stands: its first ```js block is written
// to a module and invoked through lambda-local with a signed delivery and a forged one.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import lambdaLocal from 'lambda-local';
import { afterAll, expect, it, vi } from 'vitest';
import { eventFor, seen } from './events.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Inside the repo's node_modules, so that the snippet's import resolves to the built package.
const scratch = `${root}node_modules/.cache/lambda-readme/`;
const SECRET = 'whsec_lambda_readme';

const savedEnv = { ...process.env };
afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  rmSync(scratch, { recursive: true, force: true });
});

it('the README snippet answers a signed delivery 200 (and logs it) and a forged one 401', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const match = /```js\n([\s\S]*?)```/.exec(readme);
  expect(match?.[1], 'a ```js block').toBeTruthy();
  expect(
    readme.slice(0, match!.index).trim().split('\n'),
    'nothing but the title before it',
  ).toHaveLength(1);
  mkdirSync(scratch, { recursive: true });
  const file = `${scratch}handler.mjs`;
  writeFileSync(file, match![1]!);

  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const invoke = async (secret: string) => {
      const task = createTestTask();
      const body = JSON.stringify(task);
      const event = eventFor('function-url', {
        body,
        headers: [
          ['content-type', 'application/json'],
          ['ittybit-signature', await signPayload(body, secret)],
        ],
      });
      const result = await lambdaLocal.execute({
        event: event as unknown as Record<string, unknown>,
        lambdaPath: file,
        esm: true,
        timeoutMs: 10_000,
        verboseLevel: -1,
        environment: { ITTYBIT_WEBHOOK_SECRET: SECRET },
      });
      return { task, answer: seen('function-url', result) };
    };
    const ok = await invoke(SECRET);
    expect(ok.answer).toMatchObject({ status: 200, body: '{"received":true}' });
    expect(log.mock.calls).toContainEqual([
      'ready:',
      ok.task.id,
      (ok.task.output as { url?: string } | undefined)?.url,
      ok.task.metadata,
    ]);
    const forged = await invoke('whsec_forged');
    expect(forged.answer).toMatchObject({ status: 401, body: '{"error":"unauthorized"}' });
  } finally {
    log.mockRestore();
  }
});
