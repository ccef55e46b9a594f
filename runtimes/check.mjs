// The checks `npm run test:runtimes` runs on every runtime: core's known-answer signature vectors
// (docs/sender.md) and the Web adapter's basic answers, against the packed packages (driver.mjs copies
// this file next to a node_modules of `npm pack` output, outside the repo, so no tsconfig `paths`
// can redirect anything), so each runtime's own package.json conditions pick the `#crypto`
// implementation. Uses only fetch-API globals
// (Request, Response, TextEncoder, crypto.subtle), so it runs unchanged on Node, Bun, Deno and
// workerd.
import { checkSignature, signPayload, verifySignature } from '@ittybit-webhooks/core';
import * as web from '@ittybit-webhooks/web';
// The Web Crypto implementation, imported directly, so it meets the same vectors on every runtime
// (not only where the `default` condition picks it).
import * as webCrypto from './node_modules/@ittybit-webhooks/core/dist/crypto/web.js';

const SECRET = 'test_secret';
const VECTORS = [
  ['empty body', '', 'f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd'],
  [
    'JSON body',
    '{"obj1":"hello","obj2":"world"}',
    'bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363',
  ],
  [
    'U+1F600 as UTF-8',
    '\u{1F600}',
    '837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43',
  ],
];

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text) => new Uint8Array(text.match(/../g).map((h) => Number.parseInt(h, 16)));

/**
 * Counts Web Crypto HMAC calls, so a check can tell which `#crypto` implementation core's
 * package.json conditions gave this runtime (node:crypto never goes through crypto.subtle).
 */
function spyOnSubtle() {
  const counter = { calls: 0, installed: false };
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return counter;
  try {
    for (const name of ['sign', 'verify']) {
      const original = subtle[name].bind(subtle);
      Object.defineProperty(subtle, name, {
        configurable: true,
        value: (...args) => {
          counter.calls += 1;
          return original(...args);
        },
      });
    }
    counter.installed = true;
  } catch {
    // A frozen SubtleCrypto: the implementation stays unknown, the checks still run.
  }
  return counter;
}

function delivery(body, signature, method = 'POST') {
  const headers = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['ittybit-signature'] = signature;
  return new Request('http://127.0.0.1/webhooks/ittybit', {
    method,
    headers,
    body: method === 'GET' ? undefined : body,
  });
}

/** Runs every check; returns `{ crypto, checks: [{ name, ok, detail }] }`. Never throws. */
export async function runChecks() {
  const checks = [];
  const check = async (name, fn) => {
    try {
      const detail = await fn();
      checks.push({ name, ok: detail === true || detail === undefined, detail: detail ?? '' });
    } catch (error) {
      checks.push({ name, ok: false, detail: String(error?.stack ?? error) });
    }
  };
  const expect = (cond, message) => {
    if (!cond) throw new Error(message);
  };

  const spy = spyOnSubtle();
  let crypto = 'unknown';

  for (const [label, body, expected] of VECTORS) {
    await check(`core: sign ${label}`, async () => {
      const before = spy.calls;
      const got = await signPayload(body, SECRET);
      if (spy.installed) crypto = spy.calls > before ? 'Web Crypto' : 'node:crypto';
      expect(got === expected, `got ${got}`);
    });
    await check(`core: verify ${label}`, async () => {
      expect(await verifySignature(body, expected, SECRET), 'lowercase rejected');
      expect(await verifySignature(body, expected.toUpperCase(), SECRET), 'uppercase rejected');
      expect(await verifySignature(body, `sha256=${expected}`, SECRET), 'sha256= rejected');
      expect(await verifySignature(body, expected, ['old', SECRET]), 'rotation rejected');
      expect(!(await verifySignature(body, expected, 'other_secret')), 'wrong secret accepted');
      expect(!(await verifySignature(`${body} `, expected, SECRET)), 'changed body accepted');
    });
    await check(`web crypto (direct): ${label}`, async () => {
      const bytes = new TextEncoder().encode(body);
      const got = hex(await webCrypto.hmacSha256(SECRET, bytes));
      expect(got === expected, `got ${got}`);
      expect(await webCrypto.verifyHmacSha256(SECRET, bytes, fromHex(expected)), 'verify failed');
    });
  }

  await check('core: malformed headers are a clean false', async () => {
    for (const header of ['', 'abc', 'z'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), undefined]) {
      expect(!(await verifySignature('{}', header, SECRET)), `accepted ${header}`);
    }
    expect((await checkSignature('{}', 'xyz', SECRET)) === 'malformed', 'not malformed');
    expect((await checkSignature('{}', null, SECRET)) === 'missing', 'not missing');
  });

  const handled = [];
  if (typeof web.ittybitWebhook !== 'function') {
    checks.push({ name: 'web: ittybitWebhook export', ok: false, detail: 'not exported' });
    return { crypto, checks };
  }
  const handler = web.ittybitWebhook({
    secret: SECRET,
    logger: { error() {}, warn() {}, info() {} },
    onSucceeded: (task) => {
      handled.push(`succeeded:${task.metadata.exportId}`);
    },
    onFailed: (task) => {
      handled.push(`failed:${task.metadata.exportId}`);
    },
  });
  const task = (id, status, exportId) =>
    JSON.stringify({
      id,
      status,
      kind: 'video',
      input: 'https://example.com/in.mov',
      ...(status === 'succeeded'
        ? { output: { url: 'https://cdn.example.com/out.mp4', format: 'mp4' } }
        : { error: 'Input file could not be decoded' }),
      metadata: { exportId },
      created_at: Date.now() - 60_000,
      completed_at: Date.now(),
    });

  const ok = task('task_rt_ok', 'succeeded', 'exp_1');
  await check('web: signed delivery -> 200', async () => {
    const res = await handler(delivery(ok, await signPayload(ok, SECRET)));
    expect(res instanceof Response, 'not a Response');
    expect(res.status === 200, `status ${res.status}`);
    const body = await res.json();
    expect(body.received === true, `body ${JSON.stringify(body)}`);
    expect(handled.join() === 'succeeded:exp_1', `handled ${handled.join()}`);
  });
  await check('web: duplicate -> 200, handler not called', async () => {
    const res = await handler(delivery(ok, await signPayload(ok, SECRET)));
    expect(res.status === 200, `status ${res.status}`);
    expect(res.headers.get('ittybit-webhook-duplicate') === 'true', 'no duplicate header');
    expect(handled.length === 1, `handled ${handled.join()}`);
  });
  await check('web: failed task -> 200, onFailed', async () => {
    const failed = task('task_rt_fail', 'failed', 'exp_2');
    const res = await handler(delivery(failed, await signPayload(failed, SECRET)));
    expect(res.status === 200, `status ${res.status}`);
    expect(handled.at(-1) === 'failed:exp_2', `handled ${handled.join()}`);
  });
  await check('web: forged signature -> 401', async () => {
    const forged = task('task_rt_forged', 'succeeded', 'exp_3');
    const res = await handler(delivery(forged, await signPayload(forged, 'not_the_secret')));
    expect(res.status === 401, `status ${res.status}`);
    expect(!handled.some((h) => h.endsWith('exp_3')), 'handler ran');
  });
  await check('web: missing signature -> 401', async () => {
    const res = await handler(delivery(ok, undefined));
    expect(res.status === 401, `status ${res.status}`);
  });
  await check('web: signed non-JSON -> 400', async () => {
    const res = await handler(delivery('not json', await signPayload('not json', SECRET)));
    expect(res.status === 400, `status ${res.status}`);
  });
  await check('web: GET -> 405 Allow: POST', async () => {
    const res = await handler(delivery('', undefined, 'GET'));
    expect(res.status === 405, `status ${res.status}`);
    expect(res.headers.get('allow') === 'POST', `allow ${res.headers.get('allow')}`);
  });

  return { crypto, checks };
}
