// `dead-letters list|show|replay` against real stores and a real receiver: an Express app with
// @ittybit-webhooks/express whose handler fails until told otherwise, keeping failed deliveries
// in RedisDeadLetters (a unique prefix on 127.0.0.1:6379) or PostgresDeadLetters (a unique table
// in the database `test`). Deliveries are sent with the CLI's own `send`, as the sender would.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DeadLetter, DeadLetterSink } from '@ittybit-webhooks/core';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { migrateDeadLetters, PostgresDeadLetters } from '@ittybit-webhooks/postgres';
import { RedisDeadLetters } from '@ittybit-webhooks/redis';
import { serviceReachable } from '@ittybit-webhooks/store-processes';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { captureIo, closedPort, listenExpress } from './server.js';

const SECRET = 'whsec_cli_dead_letters';
const run = crypto.randomUUID().slice(0, 8);
const REDIS_URL = 'redis://127.0.0.1:6379';
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const redisUp = await serviceReachable('Redis', 6379);
const postgresUp = await serviceReachable('PostgreSQL', 5432);

async function cli(args: string[]) {
  const capture = captureIo({ ITTYBIT_WEBHOOK_SECRET: SECRET });
  const code = await runCli(args, capture.io);
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

/** A receiver keeping dead letters in `sink`; its handler throws while `failing.on`. */
async function startReceiver(sink: DeadLetterSink, secret = SECRET) {
  const handled: string[] = [];
  const failing = { on: true };
  const handler = async (payload: { id: string }, ctx: { key: string }) => {
    if (failing.on) throw new Error('database unavailable');
    handled.push(`${payload.id} ${ctx.key}`);
  };
  const app = express();
  app.post(
    '/webhooks/ittybit',
    ittybitWebhook({
      secret,
      logger: false,
      deadLetters: sink,
      onSucceeded: handler,
      onFailed: handler,
      on: { 'run.succeeded': handler, 'run.failed': handler },
    }),
  );
  return { ...(await listenExpress(app)), handled, failing };
}

interface Backend {
  name: string;
  flags: string[];
  sink: DeadLetterSink;
  close(): Promise<void>;
}

async function redisBackend(label: string): Promise<Backend> {
  const client = new Redis(REDIS_URL);
  const prefix = `test:${run}:cli-${label}:`;
  return {
    name: 'Redis',
    flags: ['--redis', REDIS_URL, '--prefix', prefix],
    sink: new RedisDeadLetters({ client, prefix }),
    close: async () => void (await client.quit()),
  };
}

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const tables: string[] = [];
async function postgresBackend(label: string): Promise<Backend> {
  const table = `test_cli_dead_${run}_${label}`;
  tables.push(table);
  await migrateDeadLetters(pool, { table });
  return {
    name: 'PostgreSQL',
    flags: ['--postgres', DATABASE_URL, '--table', table],
    sink: new PostgresDeadLetters({ pool, table }),
    close: async () => {},
  };
}
afterAll(async () => {
  if (postgresUp) for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  await pool.end();
});

/** Sends a delivery with the CLI, once (no retries), as a sender whose attempt failed. */
async function sendOnce(url: string, ...args: string[]) {
  const { code, stdout } = await cli(['send', url, '--json', '--max-attempts', '1', ...args]);
  return { code, report: JSON.parse(stdout) as { eventId: string; taskId: string } };
}

for (const [name, up, make] of [
  ['Redis', redisUp, redisBackend],
  ['PostgreSQL', postgresUp, postgresBackend],
] as const) {
  describe.skipIf(!up)(`dead-letters with ${name}`, () => {
    let backend: Backend;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    beforeAll(async () => {
      backend = await make('flow');
      receiver = await startReceiver(backend.sink);
    });
    afterAll(async () => {
      await receiver?.close();
      await backend?.close();
    });

    it('a failed delivery is kept, listed, shown, replayed and cleared; replaying it again is a 200 duplicate', async () => {
      const empty = await cli(['dead-letters', 'list', ...backend.flags]);
      expect(empty).toMatchObject({ code: 0, stderr: '' });
      expect(empty.stdout).toBe(`No dead letters in ${name} at ${backend.flags[1]}.\n`);

      // The sender's attempt fails: 500, and the receiver keeps the delivery.
      const sent = await sendOnce(receiver.url, '--metadata', 'exportId=exp_dl');
      expect(sent.code).toBe(1);
      const { eventId, taskId } = sent.report;

      const listed = await cli(['dead-letters', 'list', ...backend.flags]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(
        /^key\s+topic\s+id\s+attempts\s+first failed\s+last failed\s+error\n[- ]+\n/,
      );
      expect(listed.stdout).toMatch(
        new RegExp(
          `^${eventId} +task\\.succeeded +${taskId} +1 +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +\\S+ +Error: database unavailable$`,
          'm',
        ),
      );
      expect(listed.stdout).toMatch(
        new RegExp(`\\n1 dead letter in ${name} at \\S+, the most recently failed first\\n$`),
      );

      const shown = await cli(['dead-letters', 'show', eventId, ...backend.flags]);
      expect(shown.code).toBe(0);
      const kept = (await backend.sink.get(eventId)) as DeadLetter;
      const body = new TextDecoder().decode(kept.body);
      expect(shown.stdout).toContain(`key           ${eventId}\n`);
      expect(shown.stdout).toContain('attempts      1\n');
      expect(shown.stdout).toContain('error         Error: database unavailable\n');
      expect(shown.stdout).toContain('headers       content-type: application/json\n');
      expect(shown.stdout).toContain(`ittybit-signature: ${kept.headers['ittybit-signature']}\n`);
      expect(shown.stdout).toContain(`body          ${kept.body.length} bytes\n\n${body}\n`);
      expect(JSON.parse(body)).toMatchObject({ id: eventId, kind: 'task.succeeded' });

      const json = await cli(['dead-letters', 'list', '--json', ...backend.flags]);
      const letters = (JSON.parse(json.stdout) as { letters: Record<string, unknown>[] }).letters;
      expect(letters).toEqual([
        expect.objectContaining({
          key: eventId,
          attempts: 1,
          bodyText: body,
          bodyBase64: Buffer.from(body).toString('base64'),
        }),
      ]);

      // The handler is fixed; the replay runs it and the receiver clears the letter.
      receiver.failing.on = false;
      const replayed = await cli([
        'dead-letters',
        'replay',
        eventId,
        receiver.url,
        ...backend.flags,
      ]);
      expect(replayed.stderr).toBe('');
      expect(replayed.code).toBe(0);
      expect(replayed.stdout).toMatch(
        new RegExp(`^1 +${eventId} +200 +\\d+ ms +200 +cleared by the receiver$`, 'm'),
      );
      expect(replayed.stdout).toMatch(/\n1 of 1 replay ended 2xx\n$/);
      expect(receiver.handled).toEqual([`${taskId} ${eventId}`]);
      expect(await backend.sink.get(eventId)).toBeUndefined();
      expect((await cli(['dead-letters', 'list', ...backend.flags])).stdout).toMatch(
        /^No dead letters/,
      );

      // A letter left behind although its delivery was handled (say, its clear failed while the
      // store blinked): the replay is a duplicate, the handler does not run again, and the
      // letter is cleared from here.
      await backend.sink.put({ ...kept, failedAt: kept.lastFailedAt });
      const again = await cli(['dead-letters', 'replay', eventId, receiver.url, ...backend.flags]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(
        new RegExp(`^1 +${eventId} +200 +\\d+ ms +200 dup +cleared \\(handled before\\)$`, 'm'),
      );
      expect(receiver.handled).toHaveLength(1);
      expect(await backend.sink.get(eventId)).toBeUndefined();
    });

    it('replay --all: oldest failure first; still failing, they stay kept (exit 1); fixed, all cleared', async () => {
      receiver.failing.on = true;
      const first = await sendOnce(receiver.url, '--topic', 'run.succeeded');
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = await sendOnce(receiver.url, '--status', 'failed');
      const keys = [first.report.eventId, second.report.eventId];

      const failed = await cli(['dead-letters', 'replay', '--all', receiver.url, ...backend.flags]);
      expect(failed.code).toBe(1);
      const rows = failed.stdout.split('\n').filter((l) => /^\d+ +evt_/.test(l));
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatch(
        new RegExp(
          `^1 +${keys[0]} +500 +\\d+ ms +500 handler_failed +kept \\(2 failed attempts\\)$`,
        ),
      );
      expect(rows[1]).toMatch(new RegExp(`^2 +${keys[1]} +500 .*kept \\(2 failed attempts\\)$`));
      expect(failed.stdout).toMatch(/\n0 of 2 replays ended 2xx\n$/);

      receiver.failing.on = false;
      const done = await cli([
        'dead-letters',
        'replay',
        '--all',
        receiver.url,
        '--json',
        ...backend.flags,
      ]);
      expect(done.code).toBe(0);
      const report = JSON.parse(done.stdout) as {
        ok: boolean;
        replays: { key: string; letter: string; status: number; duplicate: boolean }[];
      };
      expect(report.ok).toBe(true);
      expect(report.replays.map((r) => [r.key, r.status, r.duplicate, r.letter])).toEqual([
        [keys[0], 200, false, 'cleared'],
        [keys[1], 200, false, 'cleared'],
      ]);
      expect(await backend.sink.list()).toEqual([]);
      const nothing = await cli([
        'dead-letters',
        'replay',
        '--all',
        receiver.url,
        ...backend.flags,
      ]);
      expect(nothing).toMatchObject({ code: 0, stderr: '' });
      expect(nothing.stdout).toMatch(/^No dead letters in .*: nothing to replay\.\n$/);
    });

    it('replay to an endpoint whose secret was rotated away: 401 unauthorized, the letter kept as it was', async () => {
      receiver.failing.on = true;
      const sent = await sendOnce(receiver.url);
      const key = sent.report.eventId;
      const rotated = await startReceiver(backend.sink, 'whsec_new_secret_only');
      try {
        const result = await cli(['dead-letters', 'replay', key, rotated.url, ...backend.flags]);
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(
          new RegExp(
            `^1 +${key} +401 +\\d+ ms +401 unauthorized +kept \\(1 failed attempt\\)$`,
            'm',
          ),
        );
        // --keep: a 2xx answer from an endpoint without this sink does not clear it.
        receiver.failing.on = false;
        const bare = express();
        bare.post('/webhooks/ittybit', (_req, res) => void res.json({ received: true }));
        const elsewhere = await listenExpress(bare);
        try {
          const kept = await cli([
            'dead-letters',
            'replay',
            key,
            elsewhere.url,
            '--keep',
            ...backend.flags,
          ]);
          expect(kept.code).toBe(0);
          expect(kept.stdout).toMatch(/ 200 +kept \(1 failed attempt\)$/m);
        } finally {
          await elsewhere.close();
        }
        expect((await backend.sink.get(key))?.attempts).toBe(1);
        await backend.sink.clear(key);
      } finally {
        await rotated.close();
      }
    });
  });
}

describe('dead-letters usage', () => {
  it('needs exactly one of --redis and --postgres, a known command and its arguments (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['dead-letters', 'list'], /--redis <url> or --postgres <url>/],
      [
        ['dead-letters', 'list', '--redis', REDIS_URL, '--postgres', DATABASE_URL],
        /--redis <url> or --postgres <url>/,
      ],
      [['dead-letters', 'purge', '--redis', REDIS_URL], /unknown dead-letters command "purge"/],
      [['dead-letters', 'show', '--redis', REDIS_URL], /show takes one <key>/],
      [['dead-letters', 'replay', 'evt_1', '--redis', REDIS_URL], /replay takes <key> <url>/],
      [
        ['dead-letters', 'replay', 'evt_1', 'ftp://x', '--redis', REDIS_URL],
        /not an http\(s\) URL/,
      ],
      [['dead-letters', 'list', '--keep', '--redis', REDIS_URL], /--keep is for replay only/],
      [['dead-letters', 'list', '--redis', 'http://127.0.0.1:6379'], /redis:\/\/ or rediss:\/\//],
      [
        ['dead-letters', 'list', '--postgres', DATABASE_URL, '--prefix', 'x'],
        /--prefix goes with --redis/,
      ],
      [
        ['dead-letters', 'list', '--limit', '0', '--redis', REDIS_URL],
        /--limit must be a whole number >= 1/,
      ],
      [['dead-letters', 'list', '--wat', '--redis', REDIS_URL], /Unknown option '--wat'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^ittybit-webhooks: .*\n$/);
      expect(result.stderr).toMatch(message);
    }
  });

  it('--help prints the command help; no subcommand prints it to stderr (exit 2)', async () => {
    const help = await cli(['dead-letters', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npx @ittybit-webhooks\/cli dead-letters /);
    expect(help.stdout).toContain('replay --all <url>');
    const bare = await cli(['dead-letters']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe(help.stdout);
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}dead-letters {2}List, show and replay/m);
  });

  it('a store that is not there: one line naming it, without the password (exit 2)', async () => {
    const port = await closedPort();
    const redis = await cli([
      'dead-letters',
      'list',
      '--redis',
      `redis://:hunter2@127.0.0.1:${port}`,
    ]);
    expect(redis.code).toBe(2);
    expect(redis.stderr).toBe(
      `ittybit-webhooks: could not connect to Redis at redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}.\n`,
    );
    const postgres = await cli([
      'dead-letters',
      'list',
      '--postgres',
      `postgres://app:hunter2@127.0.0.1:${port}/app`,
    ]);
    expect(postgres.code).toBe(2);
    expect(postgres.stderr).toMatch(
      new RegExp(
        `^ittybit-webhooks: could not read the dead letters in PostgreSQL at postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/app: .*ECONNREFUSED.*\\.\\n$`,
      ),
    );
    expect(redis.stderr + postgres.stderr).not.toContain('hunter2');
  });

  it.skipIf(!postgresUp)('a table that is not there: says how to create it (exit 2)', async () => {
    const result = await cli([
      'dead-letters',
      'list',
      '--postgres',
      DATABASE_URL,
      '--table',
      `missing_${run}`,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/does not exist \(create it with migrateDeadLetters\(pool\)/);
  });

  it.skipIf(!redisUp)('show and replay of a key that is not kept: exit 1, saying so', async () => {
    const flags = ['--redis', REDIS_URL, '--prefix', `test:${run}:cli-none:`];
    const show = await cli(['dead-letters', 'show', 'evt_nothing', ...flags]);
    expect(show).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `ittybit-webhooks: no dead letter with key "evt_nothing" in Redis at ${REDIS_URL}.\n`,
    });
    const replay = await cli([
      'dead-letters',
      'replay',
      'evt_nothing',
      'http://127.0.0.1:1/',
      ...flags,
    ]);
    expect(replay.code).toBe(1);
  });
});

// The built command (what npx runs) loads the optional store packages and clients on its own.
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
describe.skipIf(!redisUp)('the built command', () => {
  it('lists and replays from Redis', async () => {
    expect(existsSync(built), `${built} is missing: npm run build -w @ittybit-webhooks/cli`).toBe(
      true,
    );
    const backend = await redisBackend('bin');
    const receiver = await startReceiver(backend.sink);
    try {
      const sent = await sendOnce(receiver.url);
      const exec = (args: string[]) =>
        promisify(execFile)(process.execPath, [built, 'dead-letters', ...args, ...backend.flags], {
          timeout: 20_000,
        });
      const { stdout } = await exec(['list']);
      expect(stdout).toContain(`${sent.report.eventId} `);
      receiver.failing.on = false;
      const replayed = await exec(['replay', sent.report.eventId, receiver.url]);
      expect(replayed.stdout).toMatch(/ 200 +cleared by the receiver$/m);
    } finally {
      await receiver.close();
      await backend.close();
    }
  });
});

// Every `npx @ittybit-webhooks/cli dead-letters` line of the CLI README, in order, as bash
// expands it with REDIS_URL and DATABASE_URL set, against the receiver the README describes.
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const section = readme.slice(readme.indexOf('## `dead-letters`'));
const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split('\n'))
  .filter((l) => l.startsWith('npx @ittybit-webhooks/cli dead-letters '));

describe.skipIf(!redisUp || !postgresUp)('the README dead-letters lines', () => {
  it('run as written: list, show, replay (cleared by the receiver), replay --all', async () => {
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const redis = await redisBackend('readme');
    const postgres = await postgresBackend('readme');
    const onRedis = await startReceiver(redis.sink);
    const onPostgres = await startReceiver(postgres.sink);
    try {
      // What the README's lines act on: evt_1a2b3c failed on the Redis-backed receiver, two
      // deliveries failed on the PostgreSQL-backed one.
      await sendOnce(onRedis.url, '--event-id', 'evt_1a2b3c');
      await sendOnce(onPostgres.url);
      await sendOnce(onPostgres.url, '--topic', 'run.failed');
      onRedis.failing.on = false;
      onPostgres.failing.on = false;
      for (const line of lines) {
        const words = (
          await promisify(execFile)(
            'bash',
            [
              '-c',
              `printf '%s\\0' ${line.slice('npx @ittybit-webhooks/cli '.length).replace(/#.*$/, '')}`,
            ],
            {
              env: {
                PATH: process.env.PATH ?? '',
                URL: 'http://127.0.0.1:3000/webhooks/ittybit',
                REDIS_URL,
                DATABASE_URL,
              },
              encoding: 'utf8',
            },
          )
        ).stdout
          .split('\0')
          .slice(0, -1);
        const onPg = words.includes('--postgres');
        const url = (onPg ? onPostgres : onRedis).url;
        const args = [
          ...words.map((w) => w.replace('http://127.0.0.1:3000/webhooks/ittybit', url)),
          ...(onPg ? postgres.flags.slice(2) : redis.flags.slice(2)),
        ];
        const result = await cli(args);
        expect(result.stderr, line).toBe('');
        expect(result.code, line).toBe(0);
        const comment = line.match(/#\s*(.*)$/)?.[1] ?? '';
        if (comment.includes('cleared by the receiver')) {
          expect(result.stdout).toContain('cleared by the receiver');
        }
      }
      expect(await redis.sink.list()).toEqual([]);
      expect(await postgres.sink.list()).toEqual([]);
      expect(onRedis.handled).toHaveLength(1);
      expect(onPostgres.handled).toHaveLength(2);
    } finally {
      await onRedis.close();
      await onPostgres.close();
      await redis.close();
      await postgres.close();
    }
  });
});
