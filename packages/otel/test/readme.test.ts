// The README's two programs run as it says: `node --import ./otel.mjs server.mjs`, with the
// built packages. A signed delivery is answered 200, and the console exporter prints the
// delivery's span, the handler's span and the span the handler started, in one trace.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Inside the repository, so that the packages resolve from its node_modules.
const scratch = `${root}node_modules/.cache/otel-readme/`;
const SECRET = 'whsec_otel_readme';

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
let output = '';
let url = '';

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  writeFileSync(`${scratch}server.mjs`, blocks[0]!);
  writeFileSync(`${scratch}otel.mjs`, blocks[1]!);
  const port = await freePort();
  url = `http://127.0.0.1:${port}/webhooks/ittybit`;
  child = spawn(process.execPath, ['--import', './otel.mjs', 'server.mjs'], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ITTYBIT_WEBHOOK_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`server.mjs did not start:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
afterAll(() => {
  child?.kill('SIGKILL');
});

describe('README', () => {
  it('opens with the server snippet, then the SDK set-up it is run with', () => {
    expect(blocks).toHaveLength(2);
    expect(readme.indexOf(blocks[0]!)).toBeLessThan(readme.indexOf('## Install'));
    expect(blocks[0]).toContain('node --import ./otel.mjs server.mjs');
  });

  it('a signed delivery: 200, and the three spans on the console in one trace', async () => {
    const event = createTestEvent('task.succeeded', { id: 'task_readme_otel' });
    const { body, headers } = await createTestDelivery(event, SECRET);
    const res = await fetch(url, { method: 'POST', body, headers });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 5_000;
    while (!output.includes("name: 'ittybit.webhook.delivery'") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toContain('done task_readme_otel');
    // The console exporter prints each span as an object: read its trace, parent, name and id.
    const spans = output
      .split(/^\{$/m)
      .slice(1)
      .map((text) => ({
        traceId: text.match(/^ {2}traceId: '(\w+)'/m)?.[1],
        parent: text.match(/^ {2}parentSpanContext: \{[^}]*?spanId: '(\w+)'/m)?.[1],
        name: text.match(/^ {2}name: '([^']+)'/m)?.[1],
        id: text.match(/^ {2}id: '(\w+)'/m)?.[1],
        text,
      }));
    const span = (name: string) => spans.find((s) => s.name === name);
    const delivery = span('ittybit.webhook.delivery');
    const handler = span('ittybit.webhook.handler');
    const user = span('save export');
    expect(delivery?.parent).toBeUndefined();
    expect(handler?.parent).toBe(delivery?.id);
    expect(user?.parent).toBe(handler?.id);
    expect(new Set([delivery?.traceId, handler?.traceId, user?.traceId]).size).toBe(1);
    expect(delivery?.text).toContain(`'ittybit.webhook.event_id': '${event.id}'`);
    expect(delivery?.text).toContain("'ittybit.webhook.outcome': 'received'");
  });
});
