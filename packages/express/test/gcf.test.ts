// Google Cloud Functions (and Firebase's `onRequest`, the same mechanism): the Functions Framework
// parses every body before the function runs (JSON into an object, text into a string, anything
// else into a Buffer) and keeps the bytes on `req.rawBody`. The Express adapter must check the
// signature over those bytes. Each case runs against a real function served by the framework:
// its own CLI (`functions-framework --target`, as Cloud Functions and Cloud Run start it) with
// the built adapter, and its `getTestServer` with the adapter's source.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { listen } from '@ittybit-webhooks/test-helpers';
import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'whsec_gcf_0123456789';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const utf8 = (text: string) => new TextEncoder().encode(text);
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

/** What the function's handlers saw, one line per call. */
interface Seen {
  handler: string;
  id: string;
  metadata: unknown;
  /** `typeof req.body` when the handler ran: what the framework's parser made of the body. */
  body: string;
  rawBody: boolean;
}

// The function, as a user writes it. Kept as text for the CLI run (it loads a source folder) and
// rebuilt below from the adapter's source for the in-process run: the two must stay the same.
const FUNCTION_SOURCE = `import * as functions from '@google-cloud/functions-framework';
import { ittybitWebhook } from '@ittybit-webhooks/express';

const seen = (handler, task, req) =>
  console.log('seen ' + JSON.stringify({ handler, id: task.id, metadata: task.metadata,
    body: Buffer.isBuffer(req.body) ? 'buffer' : typeof req.body, rawBody: Buffer.isBuffer(req.rawBody) }));

functions.http(
  'ittybitWebhook',
  ittybitWebhook({
    secret: process.env.ITTYBIT_WEBHOOK_SECRET,
    maxBodyBytes: 64 * 1024,
    onSucceeded: (task, ctx) => {
      seen('onSucceeded', task, ctx.request);
      if (task.metadata.fail === 'throw') throw new Error('failing on purpose');
    },
    onFailed: (task, ctx) => seen('onFailed', task, ctx.request),
  }),
);
`;

interface Running {
  url: string;
  seen(): Seen[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `functions-framework --target=ittybitWebhook --source=<folder>` on a free port. */
async function startCli(): Promise<Running> {
  // Inside the repo's node_modules, so the function's imports resolve to the workspace packages.
  const folder = `${root}node_modules/.cache/gcf-function-${process.pid}/`;
  mkdirSync(folder, { recursive: true });
  writeFileSync(`${folder}package.json`, '{ "type": "module", "main": "index.js" }\n');
  writeFileSync(`${folder}index.js`, FUNCTION_SOURCE);
  const { freePort } = await import('../../../examples/e2e.js');
  const port = await freePort();
  const main = `${root}node_modules/@google-cloud/functions-framework/build/src/main.js`;
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [main, '--target=ittybitWebhook', `--source=${folder}`, `--port=${port}`],
    { env: { ...process.env, ITTYBIT_WEBHOOK_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`functions-framework exited:\n${output}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`functions-framework did not answer within 20 s:\n${output}`);
      }
      await sleep(100);
    }
  }
  return {
    url,
    seen: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('seen '))
        .map((line) => JSON.parse(line.slice(5)) as Seen),
    async close() {
      child.kill('SIGTERM');
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(null) : child.once('exit', resolve),
      );
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** The same function registered in this process and served by the framework's `getTestServer`. */
async function startInProcess(): Promise<Running> {
  const lines: Seen[] = [];
  const seen = (
    handler: string,
    task: { id: string; metadata: unknown },
    req: Request | undefined,
  ) => {
    const { body, rawBody } = req as Request & { rawBody?: unknown };
    lines.push({
      handler,
      id: task.id,
      metadata: task.metadata,
      body: Buffer.isBuffer(body) ? 'buffer' : typeof body,
      rawBody: Buffer.isBuffer(rawBody),
    });
  };
  functions.http(
    'ittybitWebhookInProcess',
    ittybitWebhook<Record<string, unknown>>({
      secret: SECRET,
      maxBodyBytes: 64 * 1024,
      logger: false,
      onSucceeded: (task, ctx) => {
        seen('onSucceeded', task, ctx.request);
        if (task.metadata.fail === 'throw') throw new Error('failing on purpose');
      },
      onFailed: (task, ctx) => seen('onFailed', task, ctx.request),
    }) as unknown as functions.HttpFunction,
  );
  const running = await listen(getTestServer('ittybitWebhookInProcess'));
  return { url: `${running.url}/`, seen: () => lines, close: running.close };
}

/** POSTs exact bytes, signed unless `signature` says otherwise. */
async function post(
  url: string,
  body: Uint8Array | string,
  {
    contentType = 'application/json',
    secret = SECRET,
    signature = undefined as string | undefined,
  } = {},
) {
  const bytes = typeof body === 'string' ? utf8(body) : body;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'ittybit-signature': signature ?? (await signPayload(bytes, secret)),
    },
    body: Buffer.from(bytes),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const runners = [
  ['functions-framework CLI, built adapter', startCli],
  ['functions-framework getTestServer, adapter source', startInProcess],
] as const;

describe.each(runners)('Cloud Function (%s)', (_name, start) => {
  let fn: Running;
  beforeAll(async () => {
    fn = await start();
  }, 30_000);
  afterAll(() => fn?.close());

  const seenOf = (id: string) => fn.seen().filter((line) => line.id === id);

  it('signed delivery: 200; the framework had parsed the JSON, the signature was checked on req.rawBody', async () => {
    const task = createTestTask({ metadata: { exportId: 'exp_gcf_1' } });
    const answer = await post(fn.url, JSON.stringify(task));
    expect(answer).toMatchObject({ status: 200, body: '{"received":true}' });
    await expect
      .poll(() => seenOf(task.id))
      .toEqual([
        {
          handler: 'onSucceeded',
          id: task.id,
          metadata: { exportId: 'exp_gcf_1' },
          body: 'object',
          rawBody: true,
        },
      ]);
  });

  it('pretty-printed JSON with a BOM and non-ASCII text (bytes no re-serialisation gives back): 200', async () => {
    const { status, ...rest } = createTestTask({ metadata: { title: 'Café 😀' } });
    const pretty = JSON.stringify({ ...rest, status }, null, 4).replaceAll('": ', '" :  ');
    const answer = await post(fn.url, new Uint8Array([...BOM, ...utf8(pretty)]));
    expect(answer.status).toBe(200);
    await expect
      .poll(() => seenOf(rest.id).map((line) => line.metadata))
      .toEqual([{ title: 'Café 😀' }]);
  });

  it.each([
    ['text/plain', 'string'],
    ['application/octet-stream', 'buffer'],
  ])('content-type %s (the framework parsed it into a %s): 200', async (contentType, parsed) => {
    const task = createTestTask();
    const answer = await post(fn.url, JSON.stringify(task), { contentType });
    expect(answer.status).toBe(200);
    await expect
      .poll(() => seenOf(task.id).map((line) => [line.body, line.rawBody]))
      .toEqual([[parsed, true]]);
  });

  it('forged signature: 401 {"error":"unauthorized"}, handler not called', async () => {
    const task = createTestTask();
    const answer = await post(fn.url, JSON.stringify(task), { signature: 'ab'.repeat(32) });
    expect(answer).toMatchObject({ status: 401, body: '{"error":"unauthorized"}' });
    const wrongSecret = await post(fn.url, JSON.stringify(task), { secret: 'whsec_forged' });
    expect(wrongSecret.status).toBe(401);
    await sleep(100);
    expect(seenOf(task.id)).toEqual([]);
  });

  it('duplicate: 200 + Ittybit-Webhook-Duplicate, handler ran once', async () => {
    const task = createTestTask();
    const body = JSON.stringify(task);
    expect((await post(fn.url, body)).status).toBe(200);
    const again = await post(fn.url, body);
    expect(again.status).toBe(200);
    expect(again.headers.get('ittybit-webhook-duplicate')).toBe('true');
    await sleep(100);
    expect(seenOf(task.id)).toHaveLength(1);
  });

  it('handler throws: 500 handler_failed; the retry runs it again', async () => {
    const task = createTestTask({ metadata: { fail: 'throw' } });
    const body = JSON.stringify(task);
    expect(await post(fn.url, body)).toMatchObject({
      status: 500,
      body: '{"error":"handler_failed"}',
    });
    expect((await post(fn.url, body)).status).toBe(500);
    await expect.poll(() => seenOf(task.id)).toHaveLength(2);
  });

  it('GET: 405 + Allow: POST (every method reaches the function)', async () => {
    const response = await fetch(fn.url);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('body over maxBodyBytes: 413', async () => {
    const task = createTestTask({ metadata: { pad: 'x'.repeat(70 * 1024) } });
    expect((await post(fn.url, JSON.stringify(task))).status).toBe(413);
  });

  it('signed but not JSON, sent as application/json: the framework refuses it 400 before the function runs', async () => {
    // Final, like the adapter's own 400 for a signed body that does not parse; the body is the
    // framework's. Ittybit always sends JSON, so this is only reached by a broken sender.
    const answer = await post(fn.url, '{"id":"task_1","status":');
    expect(answer.status).toBe(400);
  });
});

it('without req.rawBody the parsed body cannot be checked: 500 body_consumed (what the 200s above rest on)', async () => {
  const webhook = ittybitWebhook({
    secret: SECRET,
    logger: false,
    onSucceeded: () => {},
    onFailed: () => {},
  });
  functions.http('ittybitWebhookWithoutRawBody', (req, res) => {
    delete (req as { rawBody?: unknown }).rawBody;
    // The framework's request and response are Node's, typed by its own copy of Express's types.
    return webhook(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
  const running = await listen(getTestServer('ittybitWebhookWithoutRawBody'));
  try {
    const answer = await post(`${running.url}/`, JSON.stringify(createTestTask()));
    expect(answer).toMatchObject({ status: 500, body: '{"error":"body_consumed"}' });
  } finally {
    await running.close();
  }
});
