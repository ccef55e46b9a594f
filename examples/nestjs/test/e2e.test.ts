import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleSuite } from '../../e2e';

// `npm run build:app` (tsc, the way Nest apps are built) then `npm start`, as the README says,
// driven with the ittybit-webhooks CLI: once on platform-express (the default), once on
// platform-fastify (NEST_PLATFORM=fastify), the same app and module.
const platform = process.env.NEST_PLATFORM;
afterAll(() => {
  if (platform === undefined) delete process.env.NEST_PLATFORM;
  else process.env.NEST_PLATFORM = platform;
});

/** What only this example shows: the platform it runs on, and the app's own JSON route. */
const suite = (name: 'express' | 'fastify', build: boolean) => ({
  name: 'nestjs',
  build,
  buildTimeoutMs: 180_000,
  startTimeoutMs: 60_000,
  // The module answers every method on its path: a GET gets the receiver's 405.
  get: { status: 405, allow: 'POST' },
  more(app: { url(): string; logs(): string }) {
    it(`runs on platform-${name}, and POST /exports still gets parsed JSON`, async () => {
      expect(app.logs()).toContain(`(platform-${name})`);
      const base = new URL(app.url()).origin;
      const id = `exp_json_${name}`;
      const created = await fetch(`${base}/exports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ status: 'pending' });
      expect(await (await fetch(`${base}/exports/${id}`)).json()).toEqual({ status: 'pending' });
    });
  },
});

describe('platform-express', () => {
  beforeAll(() => {
    delete process.env.NEST_PLATFORM;
  });
  const options = suite('express', true);
  exampleSuite(options);
});

describe('platform-fastify', () => {
  beforeAll(() => {
    process.env.NEST_PLATFORM = 'fastify';
  });
  const options = suite('fastify', false);
  exampleSuite(options);
});
