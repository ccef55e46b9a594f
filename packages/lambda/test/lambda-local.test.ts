// The built package (dist/, ESM and CommonJS) inside a function module, invoked through
// lambda-local, a local Lambda runner from npm: it loads the module by path, builds a Lambda
// context with a timeout, calls `handler(event, context, callback)` and settles on the returned
// promise, as the Node.js runtime does.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestTask, signPayload } from '@ittybit-webhooks/core/testing';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import lambdaLocal from 'lambda-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFor, type HttpRequest, isEventOf, KINDS, type Kind, seen } from './events.js';

const SECRET = 'whsec_lambda_local';
const redisUp = await serviceReachable('Redis', 6379);
const esmPath = fileURLToPath(new URL('./fixtures/handler.mjs', import.meta.url));
const cjsPath = fileURLToPath(new URL('./fixtures/handler.cjs', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface FixtureState {
  inits: number;
  calls: { id: string; status: string; request?: unknown }[];
  clients?: { quit(): Promise<unknown> }[];
}
const fixture = globalThis as { lambdaFixture?: FixtureState; lambdaFixtureCjs?: FixtureState };

async function signed(
  body: object,
  { secret = SECRET, base64 = false } = {},
): Promise<HttpRequest> {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return {
    body: bytes,
    base64,
    headers: [
      ['Content-Type', 'application/json'],
      ['Ittybit-Signature', await signPayload(bytes, secret)],
    ],
  };
}

/** One invocation through lambda-local of the module at `path`. */
function invoke(path: string, event: unknown, environment: Record<string, string> = {}) {
  return lambdaLocal.execute({
    event: event as Record<string, unknown>,
    lambdaPath: path,
    esm: path.endsWith('.mjs'),
    lambdaHandler: 'handler',
    timeoutMs: 10_000,
    verboseLevel: -1,
    environment: { ITTYBIT_WEBHOOK_SECRET: SECRET, ...environment },
  });
}

// lambda-local sets AWS_* variables on this process as the runtime would; put them back afterwards.
const savedEnv = { ...process.env };
afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
});

beforeAll(() => {
  expect(existsSync(dist), `${dist} is missing: npm run build -w @ittybit-webhooks/lambda`).toBe(
    true,
  );
});

it('the published types stand alone: no import of @types/aws-lambda', () => {
  for (const file of ['index.d.ts', 'index.d.cts']) {
    const types = readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8');
    expect(types).toContain('LambdaHttpEvent');
    expect(types).not.toMatch(/from ['"]aws-lambda['"]|import\(['"]aws-lambda/);
  }
});

describe('built ESM handler through lambda-local (one warm execution environment)', () => {
  it.each(KINDS)(
    '%s: delivery 200, its duplicate 200 + duplicate header, forged 401, GET 405',
    async (kind: Kind) => {
      const task = createTestTask();
      const request = await signed(task);
      const ok = seen(kind, await invoke(esmPath, eventFor(kind, request)));
      expect(ok).toMatchObject({ status: 200, body: '{"received":true}' });
      const duplicate = seen(kind, await invoke(esmPath, eventFor(kind, request)));
      expect(duplicate.headers['ittybit-webhook-duplicate']).toBe('true');
      const forged = await signed(createTestTask(), { secret: 'whsec_forged' });
      expect(seen(kind, await invoke(esmPath, eventFor(kind, forged)))).toMatchObject({
        status: 401,
        body: '{"error":"unauthorized"}',
      });
      expect(seen(kind, await invoke(esmPath, eventFor(kind, { method: 'GET' })))).toMatchObject({
        status: 405,
      });
      const calls = fixture.lambdaFixture!.calls.filter((call) => call.id === task.id);
      expect(calls).toHaveLength(1);
      expect(isEventOf(kind, calls[0]!.request)).toBe(true);
    },
  );

  it.each(KINDS)(
    '%s: base64 body 200; handler throws: 500, and the retry runs it again',
    async (kind: Kind) => {
      const base64 = seen(
        kind,
        await invoke(esmPath, eventFor(kind, await signed(createTestTask(), { base64: true }))),
      );
      expect(base64.status).toBe(200);
      const failing = await signed(createTestTask({ metadata: { fail: 'throw' } }));
      const first = seen(kind, await invoke(esmPath, eventFor(kind, failing)));
      expect(first).toMatchObject({ status: 500, body: '{"error":"handler_failed"}' });
      // The key was released: the sender's retry runs the handler again (and it throws again).
      const retry = seen(kind, await invoke(esmPath, eventFor(kind, failing)));
      expect(retry.status).toBe(500);
      const id = JSON.parse(new TextDecoder().decode(failing.body as Uint8Array)).id;
      expect(fixture.lambdaFixture!.calls.filter((call) => call.id === id)).toHaveLength(2);
    },
  );

  it('the module was loaded once for every invocation above', () => {
    expect(fixture.lambdaFixture?.inits).toBe(1);
  });
});

describe('built CommonJS handler through lambda-local (a cold start on every invocation)', () => {
  it('in-memory store: each environment has its own, so a redelivery to a new one runs again', async () => {
    const request = await signed(createTestTask({ id: `task_cold_${randomUUID().slice(0, 8)}` }));
    const before = fixture.lambdaFixtureCjs?.inits ?? 0;
    const answers = [
      seen('function-url', await invoke(cjsPath, eventFor('function-url', request))),
      seen('function-url', await invoke(cjsPath, eventFor('function-url', request))),
    ];
    expect(fixture.lambdaFixtureCjs!.inits - before).toBe(2);
    expect(answers.map((a) => a.headers['ittybit-webhook-duplicate'])).toEqual([
      undefined,
      undefined,
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
  });

  describe.skipIf(!redisUp)('Redis store shared by every environment', () => {
    afterAll(async () => {
      await Promise.all((fixture.lambdaFixtureCjs?.clients ?? []).map((client) => client.quit()));
    });

    it.each(KINDS)(
      '%s: the redelivery to a new environment is a duplicate; the handler ran once',
      async (kind: Kind) => {
        const id = `task_shared_${randomUUID().slice(0, 8)}`;
        const request = await signed(createTestTask({ id }));
        const env = {
          FIXTURE_REDIS_URL: 'redis://127.0.0.1:6379',
          FIXTURE_REDIS_PREFIX: `ittybit:lambda-test:${randomUUID()}:`,
        };
        const first = seen(kind, await invoke(cjsPath, eventFor(kind, request), env));
        const second = seen(kind, await invoke(cjsPath, eventFor(kind, request), env));
        expect(first).toMatchObject({ status: 200, body: '{"received":true}' });
        expect(second.headers['ittybit-webhook-duplicate']).toBe('true');
        expect(fixture.lambdaFixtureCjs!.calls.filter((call) => call.id === id)).toHaveLength(1);
      },
    );
  });
});
