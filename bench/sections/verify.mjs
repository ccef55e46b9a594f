// 2. Verify + parse, each library with its own signature scheme over the same body bytes (a
//    Buffer, as HTTP frameworks give it), each call interleaved with the floor (createHmac +
//    timingSafeEqual + JSON.parse): ratio = library time / floor time, from adjacent batches.
//    Then Web Crypto on Node: core's Web Crypto verify against a bare subtle.verify with the same
//    cached key.
import { webcrypto } from 'node:crypto';
import { createReceiver, verifyWebhook } from '@ittybit-webhooks/core';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { eventTemplate, SECRET, sign } from '../lib/deliveries.mjs';
import { handVerify } from '../lib/hand.mjs';
import { callsFor, compare, loadAverage, QUICK } from '../lib/measure.mjs';
import { ratio, section, us } from '../lib/section.mjs';

const SIZES = [
  ['1 KB', 1024],
  ['64 KB', 65_536],
  ['1 MB', 1_000_000],
];
const BATCH_MS = QUICK ? 4 : 120;
const PAIRS = QUICK ? 1 : 7;

// core's Web Crypto implementation, the one Deno, Bun and Workers get (built by `npm run build`).
const web = await import(new URL('../../packages/core/dist/crypto/web.js', import.meta.url).href);

/** Every library's verify+parse of `body`, each given the headers its own sender would send. */
async function contenders(body) {
  const text = body.toString('utf8');
  const ittybitSignature = sign(body);
  const receiver = createReceiver({
    secret: SECRET,
    onSucceeded() {},
    onFailed() {},
    logger: false,
  });
  const headers = { 'content-type': 'application/json', 'ittybit-signature': ittybitSignature };

  const standardSecret = Buffer.from(SECRET).toString('base64');
  const standard = new StandardWebhook(standardSecret);
  const now = new Date();
  const seconds = String(Math.floor(now.getTime() / 1000));
  const standardHeaders = {
    'webhook-id': 'msg_bench',
    'webhook-timestamp': seconds,
    'webhook-signature': standard.sign('msg_bench', now, text),
  };
  const svix = new SvixWebhook(`whsec_${standardSecret}`);
  const svixHeaders = {
    'svix-id': 'msg_bench',
    'svix-timestamp': seconds,
    'svix-signature': svix.sign('msg_bench', now, text),
  };
  const stripeHeader = Stripe.webhooks.generateTestHeaderString({ payload: text, secret: SECRET });
  const floor = handVerify(SECRET);
  const octokitSignature = await octokitSign(SECRET, text);

  return {
    floor: () => floor(body, ittybitSignature),
    list: [
      ['receiver.verify()', () => receiver.verify(body, ittybitSignature)],
      ['verifyWebhook()', () => verifyWebhook(body, headers, { secret: SECRET })],
      [
        '@octokit/webhooks-methods verify + JSON.parse',
        async () => {
          const payload = body.toString('utf8');
          if (!(await octokitVerify(SECRET, payload, octokitSignature))) throw new Error('octokit');
          return JSON.parse(payload);
        },
      ],
      ['standardwebhooks', () => standard.verify(body, standardHeaders)],
      ['svix', () => svix.verify(body, svixHeaders)],
      ['stripe constructEvent', () => Stripe.webhooks.constructEvent(body, stripeHeader, SECRET)],
    ],
  };
}

section(async () => {
  const load = await loadAverage();
  console.log(`\n2. Verify + parse vs the floor and other libraries (load ${load.toFixed(2)})`);
  const sizes = [];
  for (const [label, bytes] of SIZES) {
    const body = Buffer.from(eventTemplate(bytes).replaceAll('PLACEHOLDER', 'bench0000000'));
    const { floor, list } = await contenders(body);
    const calls = await callsFor(floor, BATCH_MS, 1);
    const rows = [];
    for (const [name, fn] of list) {
      // Each contender's own batch size, so both sides of every pair take similar time.
      const theirs = await callsFor(fn, BATCH_MS, 1);
      const n = Math.max(QUICK ? 1 : 3, Math.round(Math.sqrt(calls * theirs)));
      const result = await compare(fn, floor, { calls: n, pairs: PAIRS, warmup: n });
      rows.push({ name, us: result.oursUs, floorUs: result.theirsUs, ratio: result.ratio });
      console.log(
        `   ${label.padEnd(6)} ${name.padEnd(46)} ${us(result.oursUs).padStart(12)}  ${ratio(result.ratio)} of the floor`,
      );
    }
    sizes.push({ label, bytes, rows });
  }

  // Web Crypto on Node, cached key on both sides.
  const subtle = webcrypto.subtle;
  const key = await subtle.importKey(
    'raw',
    new TextEncoder().encode(SECRET),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const webRows = [];
  for (const [label, bytes] of SIZES) {
    const body = new Uint8Array(Buffer.from(eventTemplate(bytes)));
    const signature = new Uint8Array(Buffer.from(sign(body), 'hex'));
    if (!(await web.verifyHmacSha256(SECRET, body, signature))) throw new Error('web verify');
    const ours = async () => {
      if (!(await web.verifyHmacSha256(SECRET, body, signature))) throw new Error('web verify');
    };
    const bare = async () => {
      if (!(await subtle.verify('HMAC', key, signature, body))) throw new Error('subtle');
    };
    const n = await callsFor(bare, BATCH_MS, QUICK ? 1 : 3);
    const result = await compare(ours, bare, { calls: n, pairs: PAIRS, warmup: n });
    webRows.push({ label, bytes, us: result.oursUs, bareUs: result.theirsUs, ratio: result.ratio });
    console.log(
      `   ${label.padEnd(6)} Web Crypto verify (core)${' '.repeat(22)} ${us(result.oursUs).padStart(12)}  ${ratio(result.ratio)} of a bare subtle.verify`,
    );
  }
  return { load, pairs: PAIRS, batchMs: BATCH_MS, sizes, web: webRows };
});
