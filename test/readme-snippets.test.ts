// Every package README opens with a server snippet that must run as it stands: this extracts the
// first ```js block of each, runs it with node (built packages, real Redis/PostgreSQL where the
// snippet uses them) on a free port, and sends it a signed delivery and a forged one.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../examples/e2e.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repo's node_modules so that the snippet's imports resolve to the workspace packages.
const scratch = `${root}node_modules/.cache/readme-snippets/`;
const SECRET = 'whsec_readme';

const readmes = [
  { readme: 'README.md', path: '/webhooks/ittybit' },
  { readme: 'packages/core/README.md', path: '/' },
  { readme: 'packages/express/README.md', path: '/webhooks/ittybit' },
  { readme: 'packages/fastify/README.md', path: '/webhooks/ittybit' },
  { readme: 'packages/koa/README.md', path: '/webhooks/ittybit' },
  { readme: 'packages/redis/README.md', path: '/webhooks/ittybit' },
  { readme: 'packages/postgres/README.md', path: '/webhooks/ittybit' },
];

function firstJsBlock(file: string): string {
  const text = readFileSync(root + file, 'utf8');
  const match = /```js\n([\s\S]*?)```/.exec(text);
  if (!match?.[1]) throw new Error(`${file} has no \`\`\`js block`);
  // A package README opens with its snippet: nothing but the title before it.
  if (file.startsWith('packages/')) {
    expect(text.slice(0, match.index).trim().split('\n'), `${file}: snippet first`).toHaveLength(1);
  }
  return match[1];
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

describe('README snippets run as they stand', () => {
  it.each(readmes)('$readme', async ({ readme, path }) => {
    mkdirSync(scratch, { recursive: true });
    const file = `${scratch}${readme.replaceAll('/', '_')}.mjs`;
    writeFileSync(file, firstJsBlock(readme));
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [file], {
      env: {
        ...process.env,
        PORT: String(port),
        ITTYBIT_WEBHOOK_SECRET: SECRET,
        REDIS_URL: 'redis://127.0.0.1:6379',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const url = `http://127.0.0.1:${port}${path}`;
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`snippet exited:\n${output}`);
        try {
          await fetch(url, { signal: AbortSignal.timeout(1_000) });
          break;
        } catch {
          if (Date.now() > deadline) throw new Error(`snippet never listened:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const task = createTestTask({ metadata: { from: readme } });
      const delivery = await createTestDelivery(task, SECRET);
      const ok = await fetch(url, { method: 'POST', ...delivery });
      expect(ok.status, output).toBe(200);
      const forged = await createTestDelivery(task, 'not-the-secret');
      expect((await fetch(url, { method: 'POST', ...forged })).status).toBe(401);
      // The snippet's onSucceeded logged the task it handled.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(output).toContain(task.id);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
