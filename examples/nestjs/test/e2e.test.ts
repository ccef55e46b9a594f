import { afterAll, beforeAll, describe } from 'vitest';
import { exampleSuite } from '../../e2e';

// `npm run build:app` (tsc, the way Nest apps are built) then `npm start`, as the README says,
// driven with the ittybit-webhooks CLI: once on platform-express (the default), once on
// platform-fastify (NEST_PLATFORM=fastify), the same app and module.
const platform = process.env.NEST_PLATFORM;
afterAll(() => {
  if (platform === undefined) delete process.env.NEST_PLATFORM;
  else process.env.NEST_PLATFORM = platform;
});

describe('platform-express', () => {
  beforeAll(() => {
    delete process.env.NEST_PLATFORM;
  });
  exampleSuite({ name: 'nestjs', build: true, buildTimeoutMs: 180_000, startTimeoutMs: 60_000 });
});

describe('platform-fastify', () => {
  beforeAll(() => {
    process.env.NEST_PLATFORM = 'fastify';
  });
  exampleSuite({ name: 'nestjs', startTimeoutMs: 60_000 });
});
