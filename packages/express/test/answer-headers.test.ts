// Every answer goes out with its Content-Length, not chunked: the body is known in full before the
// first byte is written.
import http from 'node:http';
import {
  captureLogger,
  listen,
  type Running,
  signedDelivery,
} from '@ittybit-webhooks/test-helpers';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ittybitWebhook } from '../src/index.js';

const SECRET = 'whsec_express_answer_headers';
const PATH = '/webhooks/ittybit';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(url: string, method: string, body: string, headers: Record<string, string>) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${url}${PATH}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const options = () => ({
  secret: SECRET,
  logger: captureLogger(),
  onSucceeded() {},
  onFailed() {},
});

describe('answers', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  for (const [name, make] of [
    [
      'app.post',
      () => {
        const app = express();
        app.post(PATH, ittybitWebhook(options()));
        return app;
      },
    ],
    ['node:http with { path }', () => ittybitWebhook(options(), { path: PATH })],
  ] as const) {
    it(`carry Content-Length and no chunked encoding (${name})`, async () => {
      running = await listen(make() as http.RequestListener);
      const { body, headers } = await signedDelivery(SECRET);
      const answers = [
        await send(running.url, 'POST', body, headers),
        await send(running.url, 'POST', body, headers),
        await send(running.url, 'POST', body, { ...headers, 'ittybit-signature': '0'.repeat(64) }),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 200, 401]);
      expect(answers[1]?.headers['ittybit-webhook-duplicate']).toBe('true');
      if (name !== 'app.post') {
        const get = await send(running.url, 'GET', '', {});
        expect(get.status).toBe(405);
        answers.push(get);
      }
      for (const answer of answers) {
        expect(answer.headers['transfer-encoding']).toBeUndefined();
        expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
        expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      }
    });
  }
});
