import type { ServerResponse } from 'node:http';
import type { Receiver } from '@ittybit-webhooks/core';
import { toBytes } from '@ittybit-webhooks/core/adapter';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { listen } from '@ittybit-webhooks/test-helpers';
import { describe, expect, it } from 'vitest';
import { type AdapterUnderTest, adapters } from '../../conformance/src/adapters.js';
import { runFuzz } from '../src/harness.js';
import { KINDS } from '../src/kinds.js';
import { sign } from '../src/payloads.js';

// The suite must be able to fail: these adapters are broken on purpose, each in one way the
// fuzz suite exists to catch, and each must be caught with the smallest request that shows it.

const PATH = '/webhooks/ittybit';
const kinds = (...names: string[]) => KINDS.filter((k) => names.includes(k.name));

/** The Express adapter on node:http, `path` mount, with a hook in front of it. */
function broken(
  name: string,
  wrap: (receiver: Receiver) => Receiver,
  before?: (method: string, res: ServerResponse) => boolean,
): AdapterUnderTest {
  return {
    name,
    tags: ['express path', 'path', 'express'],
    async start(input) {
      const listener = ittybitWebhook(wrap(input as Receiver), { path: PATH });
      const running = await listen((req, res) => {
        if (before?.(req.method ?? '', res)) return;
        void listener(req, res);
      });
      return { url: `${running.url}${PATH}`, close: running.close };
    },
    isNativeRequest: () => true,
  };
}

/** Signs whatever body arrives before the receiver sees it: the signature check is bypassed. */
const signsEverything = broken('signs every body', (receiver) => ({
  ...receiver,
  handle: async (request) => {
    const read = request.body;
    const body = toBytes(
      typeof read === 'function' ? await read(receiver.options.maxBodyBytes) : (read ?? ''),
    );
    const headers = { ...(request.headers as Record<string, string>) };
    headers['ittybit-signature'] = sign(body);
    return receiver.handle({ ...request, headers, body });
  },
}));

/** Answers every method but POST, GET and HEAD with a 500 of its own. */
const odd500 = broken(
  'odd methods are a 500',
  (receiver) => receiver,
  (method, res) => {
    if (['POST', 'GET', 'HEAD'].includes(method)) return false;
    res.writeHead(500).end('boom');
    return true;
  },
);

describe('the fuzz suite catches broken adapters', () => {
  it('unsigned bodies reaching the store and the handlers', async () => {
    const report = await runFuzz({
      seed: 7,
      kinds: kinds('unsigned-bodies', 'signature-missing'),
      adapters: [signsEverything],
      scale: 0.2,
    });
    expect(report.failures.map((f) => f.kind).sort()).toEqual([
      'signature-missing',
      'unsigned-bodies',
    ]);
    for (const failure of report.failures) {
      // The message names the request, its ground truth and what came back; the path replays it.
      expect(failure.message).toMatch(/signed: false/);
      expect(failure.path).not.toBeNull();
    }
    // A delivery with no signature header ran its handler (an unsigned random body may shrink to
    // one that is merely a 400 instead of a 401: still caught, as an unexpected status).
    const missing = report.failures.find((f) => f.kind === 'signature-missing');
    expect(missing?.categories).toEqual(['unsigned reached handler or store', 'unexpected status']);
    expect(missing?.message).toMatch(/answered 200 .*; expected 401/);
    expect(report.problems.join('\n')).toMatch(/without a correct signature reached a handler/);
  }, 60_000);

  it('an unexpected 5xx, shrunk to the smallest request that shows it', async () => {
    const report = await runFuzz({
      seed: 11,
      kinds: kinds('methods'),
      adapters: [odd500],
      scale: 0.5,
    });
    expect(report.failures).toHaveLength(1);
    const [failure] = report.failures;
    expect(failure?.categories).toEqual(['unexpected 5xx']);
    expect(failure?.message).toMatch(/answered 500 "boom"; expected 405/);
    // Shrunk: the first method Node lists, no body.
    expect(failure?.message).toMatch(/#1 ACL \/webhooks\/ittybit HTTP\/1\.1/);
    expect(failure?.message).toMatch(/body \(0 bytes\)/);
    expect(report.problems).toEqual([]);
  }, 60_000);

  it('a delivery run twice when copies arrive together (no idempotency)', async () => {
    const report = await runFuzz({
      seed: 13,
      kinds: kinds('concurrent-duplicates'),
      adapters: adapters.filter((a) => a.name === 'express 5 (app.post)'),
      scale: 0.2,
      receiverOptions: { idempotency: false },
    });
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]?.categories).toContain('ran more or less than once');
    // Shrunk to two copies.
    expect(report.failures[0]?.message).toMatch(/2 copies of one delivery: 2 answered received/);
  }, 60_000);
});
