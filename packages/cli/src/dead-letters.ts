import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DeadLetter, DeadLetterSink } from '@ittybit-webhooks/core';
import { EXIT, integer, NAME, parseUrl, RUN, UsageError, usage } from './args.js';
import { type DeliveryResult, sendDelivery } from './deliver.js';
import { describeAttempt } from './format.js';
import type { CliIo } from './main.js';

type Io = Required<Pick<CliIo, 'stdout' | 'stderr'>> & CliIo;

export const DEAD_LETTERS_HELP = `Usage: ${RUN} dead-letters <list | show <key> | replay <key>|--all <url>> [options]

Deliveries whose handler failed, as the receiver's deadLetters sink keeps them (RedisDeadLetters
or PostgresDeadLetters): the exact bytes, the headers they came with, the last error and how many
attempts failed. The receiver clears one when a later attempt succeeds; what is left is what the
sender gave up on.

Commands:
  list                  the kept deliveries, the most recently failed first
  show <key>            one kept delivery: ids, error, attempts, headers and body
  replay <key> <url>    POST the kept bytes with their original headers (the sender's signature)
                        to <url>, and print the answer with its reason
  replay --all <url>    every kept delivery (up to --limit), the oldest failure first

Where they are kept (one of):
  --redis <url>         redis://[user:password@]host:port[/db] (RedisDeadLetters)
  --prefix <prefix>     with --redis, the sink's prefix (default ittybit:dead:)
  --postgres <url>      postgres://user[:password]@host[:port]/database (PostgresDeadLetters)
  --table <table>       with --postgres, the sink's table (default ittybit_webhook_dead_letters)

Options:
  --limit <n>           list and replay --all: at most n letters (default 100)
  --max-attempts <n>    replay: attempts per letter, retrying 5xx and timeouts (default 1)
  --backoff-ms <ms>     replay: delay before the 2nd attempt, doubled after each (default 500)
  --timeout-ms <ms>     replay: time allowed for one attempt (default 5000)
  --keep                replay: never clear a letter from here (see below)
  --json                print JSON instead of text
  -h, --help            show this help

A replay answered 2xx is done: the receiver clears the letter when its handler succeeds. When the
answer is 2xx and the letter is still there (a 200 duplicate: the delivery was handled since; or
an endpoint without this sink), the command clears it, unless --keep. A replay is the sender's
own signed bytes: the receiver checks the signature as usual (a secret rotated away since gives
401), and deduplication makes a replay of something already handled a 200 duplicate.

Exit status: 0 when every replay ended 2xx (list and show: when they printed); 1 when a replay
ended otherwise, or show or replay found no letter with that key; 2 for bad usage or a store
that could not be read.
`;

/** The parts of `@ittybit-webhooks/redis`, `ioredis`, `@ittybit-webhooks/postgres` and `pg` used here. */
interface RedisSinkModule {
  RedisDeadLetters: new (options: { client: unknown; prefix?: string }) => DeadLetterSink;
}
interface IoredisModule {
  Redis: new (
    url: string,
    options: Record<string, unknown>,
  ) => { connect(): Promise<void>; quit(): Promise<unknown>; disconnect(): void };
}
interface PostgresSinkModule {
  PostgresDeadLetters: new (options: { pool: unknown; table?: string }) => DeadLetterSink;
}
interface PgModule {
  default?: { Pool: PgPool };
  Pool?: PgPool;
}
type PgPool = new (
  options: Record<string, unknown>,
) => {
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(e: string, f: () => void): void;
};

/**
 * Imports an optional dependency: from beside this command (its optionalDependencies, or the
 * project it is installed in), else from the project in the current directory (`npx` run inside
 * a project that has the package).
 */
async function load<T>(name: string, install: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if (!missing(error)) throw error;
  }
  try {
    const path = createRequire(join(process.cwd(), 'package.json')).resolve(name);
    return (await import(pathToFileURL(path).href)) as T;
  } catch (error) {
    if (!missing(error)) throw error;
    throw new UsageError(`${name} is not installed here: npm install ${install}.`);
  }
}

function missing(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** A URL without its password, for messages. */
function redact(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return raw;
  }
}

interface OpenSink {
  sink: DeadLetterSink;
  where: string;
  close(): Promise<void>;
}

async function openRedis(raw: string, prefix: string | undefined): Promise<OpenSink> {
  if (!/^rediss?:\/\//.test(raw)) {
    throw new UsageError(`--redis takes a redis:// or rediss:// URL; got "${redact(raw)}".`);
  }
  const { RedisDeadLetters } = await load<RedisSinkModule>(
    '@ittybit-webhooks/redis',
    '@ittybit-webhooks/redis ioredis',
  );
  const { Redis } = await load<IoredisModule>('ioredis', 'ioredis');
  const where = `Redis at ${redact(raw)}`;
  // One connection attempt, no retries: a CLI answers at once when the server is not there.
  const client = new Redis(raw, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The error event says why (ECONNREFUSED, WRONGPASS); connect() only that it closed.
  let why: unknown;
  (client as unknown as { on(e: string, f: (error: unknown) => void): void }).on(
    'error',
    (error) => {
      why ??= error;
    },
  );
  let sink: DeadLetterSink;
  try {
    sink = new RedisDeadLetters({ client, ...(prefix !== undefined ? { prefix } : {}) });
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new UsageError(`could not connect to ${where}: ${messageOf(why ?? error)}.`);
  }
  return {
    sink,
    where,
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

async function openPostgres(raw: string, table: string | undefined): Promise<OpenSink> {
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new UsageError(
      `--postgres takes a postgres:// or postgresql:// URL; got "${redact(raw)}".`,
    );
  }
  const { PostgresDeadLetters } = await load<PostgresSinkModule>(
    '@ittybit-webhooks/postgres',
    '@ittybit-webhooks/postgres pg',
  );
  const pg = await load<PgModule>('pg', 'pg');
  const Pool = (pg.default?.Pool ?? pg.Pool) as PgPool;
  const where = `PostgreSQL at ${redact(raw)}`;
  const pool = new Pool({
    connectionString: raw,
    max: 2,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
  });
  pool.on('error', () => {});
  let sink: DeadLetterSink;
  try {
    sink = new PostgresDeadLetters({ pool, ...(table !== undefined ? { table } : {}) });
  } catch (error) {
    await pool.end();
    throw new UsageError(`${messageOf(error)}.`);
  }
  return {
    sink,
    where,
    close: () => pool.end(),
  };
}

/** How to fix a missing table. */
function hintFor(error: unknown): string {
  return /relation .* does not exist/.test(messageOf(error))
    ? ' (create it with migrateDeadLetters(pool) from @ittybit-webhooks/postgres, or name yours with --table)'
    : '';
}

function messageOf(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown };
  const message = typeof e?.message === 'string' && e.message ? e.message : String(error);
  return message.replace(/\.$/, '');
}

/** `2026-01-02T03:04:05Z` */
function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function cut(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A letter as JSON: the body as UTF-8 text when it is, and always as base64. */
function letterJson(letter: DeadLetter) {
  const { body, ...rest } = letter;
  return {
    ...rest,
    firstFailedAt: time(letter.firstFailedAt),
    lastFailedAt: time(letter.lastFailedAt),
    bodyBase64: Buffer.from(body).toString('base64'),
    ...(utf8(body) !== undefined ? { bodyText: utf8(body) } : {}),
  };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function list(letters: DeadLetter[], io: Io, json: boolean, where: string): number {
  if (json) {
    io.stdout(`${JSON.stringify({ letters: letters.map(letterJson) })}\n`);
    return EXIT.ok;
  }
  if (letters.length === 0) {
    io.stdout(`No dead letters in ${where}.\n`);
    return EXIT.ok;
  }
  const rows = letters.map((l) => [
    l.key,
    l.topic ?? '-',
    l.id ?? '-',
    String(l.attempts),
    time(l.firstFailedAt),
    time(l.lastFailedAt),
    cut(l.error, 60),
  ]);
  io.stdout(
    `${table(['key', 'topic', 'id', 'attempts', 'first failed', 'last failed', 'error'], rows)}\n\n${letters.length} dead ${letters.length === 1 ? 'letter' : 'letters'} in ${where}, the most recently failed first\n`,
  );
  return EXIT.ok;
}

function show(letter: DeadLetter, io: Io, json: boolean): number {
  if (json) {
    io.stdout(`${JSON.stringify(letterJson(letter))}\n`);
    return EXIT.ok;
  }
  const text = utf8(letter.body);
  const headers = Object.entries(letter.headers).map(([name, value]) => `${name}: ${value}`);
  const fields: [string, string][] = [
    ['key', letter.key],
    ['topic', letter.topic ?? '-'],
    ['event id', letter.eventId ?? '-'],
    ['id', letter.id ?? '-'],
    ['attempts', String(letter.attempts)],
    ['first failed', time(letter.firstFailedAt)],
    ['last failed', time(letter.lastFailedAt)],
    ['error', letter.error],
    ['headers', headers[0] ?? '-'],
    ...headers.slice(1).map((h): [string, string] => ['', h]),
    [
      'body',
      `${letter.body.length} bytes${text === undefined ? ', not UTF-8 text: base64 below' : ''}`,
    ],
  ];
  io.stdout(
    `${fields.map(([name, value]) => `${name.padEnd(14)}${value}`.trimEnd()).join('\n')}\n\n${text ?? Buffer.from(letter.body).toString('base64')}\n`,
  );
  return EXIT.ok;
}

/** What became of a letter after its replay. */
type LetterState = 'cleared' | 'cleared-here' | 'kept';

interface Replay {
  key: string;
  result: DeliveryResult;
  letter: LetterState;
  /** Failed attempts the sink counts now, when kept. */
  attempts?: number;
}

async function replay(
  sink: DeadLetterSink,
  letters: DeadLetter[],
  url: URL,
  options: { maxAttempts: number; backoffMs?: number; timeoutMs?: number; keep: boolean },
): Promise<Replay[]> {
  const replays: Replay[] = [];
  for (const [i, letter] of letters.entries()) {
    const result = await sendDelivery({
      url,
      body: letter.body,
      secret: '',
      // The sender's own signature over these bytes: never signed again here.
      signature: letter.headers['ittybit-signature'] ?? '',
      headers: { 'content-type': letter.headers['content-type'] ?? 'application/json' },
      taskId: letter.id ?? letter.key,
      index: i + 1,
      maxAttempts: options.maxAttempts,
      ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    const after = await sink.get(letter.key);
    let state: LetterState = after ? 'kept' : 'cleared';
    if (after && result.ok && !options.keep) {
      await sink.clear(letter.key);
      state = 'cleared-here';
    }
    replays.push({
      key: letter.key,
      result,
      letter: state,
      ...(state === 'kept' && after ? { attempts: after.attempts } : {}),
    });
  }
  return replays;
}

function describeLetter(replay: Replay): string {
  if (replay.letter === 'cleared') return 'cleared by the receiver';
  if (replay.letter === 'cleared-here') return 'cleared (handled before)';
  return `kept (${replay.attempts} failed ${replay.attempts === 1 ? 'attempt' : 'attempts'})`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `dead-letters list|show|replay`: resolves to the exit code. */
export async function deadLetters(args: string[], io: Io): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        redis: { type: 'string' },
        prefix: { type: 'string' },
        postgres: { type: 'string' },
        table: { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        'max-attempts': { type: 'string' },
        'backoff-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
      },
    }),
  );
  if (values.help || positionals.length === 0) {
    (values.help ? io.stdout : io.stderr)(DEAD_LETTERS_HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const [command, ...rest] = positionals;
  const limit = integer('limit', values.limit, 1) ?? 100;
  const json = values.json ?? false;

  // Check the arguments before connecting anywhere.
  let key: string | undefined;
  let url: URL | undefined;
  if (command === 'list') {
    if (rest.length > 0) throw new UsageError(`list takes no arguments; got "${rest[0]}".`);
  } else if (command === 'show') {
    if (rest.length !== 1) throw new UsageError('show takes one <key> (see dead-letters list).');
    key = rest[0];
  } else if (command === 'replay') {
    if (values.all) {
      if (rest.length !== 1) throw new UsageError('replay --all takes one <url>.');
      url = parseUrl(rest[0]);
    } else {
      if (rest.length !== 2) {
        throw new UsageError('replay takes <key> <url>, or --all <url> for every kept letter.');
      }
      key = rest[0];
      url = parseUrl(rest[1]);
    }
  } else {
    throw new UsageError(
      `unknown dead-letters command "${command}"; try list, show or replay (${RUN} dead-letters --help).`,
    );
  }
  if (command !== 'replay') {
    for (const flag of ['all', 'keep', 'max-attempts', 'backoff-ms', 'timeout-ms'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for replay only.`);
    }
  }
  const replayOptions = {
    maxAttempts: integer('max-attempts', values['max-attempts'], 1) ?? 1,
    backoffMs: integer('backoff-ms', values['backoff-ms'], 0),
    timeoutMs: integer('timeout-ms', values['timeout-ms'], 1),
    keep: values.keep ?? false,
  };
  if ((values.redis === undefined) === (values.postgres === undefined)) {
    throw new UsageError(
      'say where the dead letters are: --redis <url> or --postgres <url> (one of them).',
    );
  }
  if (values.prefix !== undefined && values.redis === undefined) {
    throw new UsageError('--prefix goes with --redis.');
  }
  if (values.table !== undefined && values.postgres === undefined) {
    throw new UsageError('--table goes with --postgres.');
  }

  const open =
    values.redis !== undefined
      ? await openRedis(values.redis, values.prefix)
      : await openPostgres(values.postgres!, values.table);
  const read = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (error) {
      throw new UsageError(
        `could not read the dead letters in ${open.where}: ${messageOf(error)}${hintFor(error)}.`,
      );
    }
  };
  try {
    if (command === 'list') {
      return list(await read(() => open.sink.list({ limit })), io, json, open.where);
    }
    let letters: DeadLetter[];
    if (key !== undefined) {
      const letter = await read(() => open.sink.get(key));
      if (!letter) {
        io.stderr(`${NAME}: no dead letter with key "${key}" in ${open.where}.\n`);
        return EXIT.failed;
      }
      if (command === 'show') return show(letter, io, json);
      letters = [letter];
    } else {
      // Oldest failure first: events are replayed in the order they went wrong.
      letters = (await read(() => open.sink.list({ limit }))).sort(
        (a, b) => a.firstFailedAt - b.firstFailedAt || a.key.localeCompare(b.key),
      );
      if (letters.length === 0) {
        if (json) io.stdout(`${JSON.stringify({ ok: true, url: url!.href, replays: [] })}\n`);
        else io.stdout(`No dead letters in ${open.where}: nothing to replay.\n`);
        return EXIT.ok;
      }
    }
    const replays = await read(() => replay(open.sink, letters, url!, replayOptions));
    const ok = replays.every((r) => r.result.ok);
    if (json) {
      io.stdout(
        `${JSON.stringify({
          ok,
          url: url!.href,
          replays: replays.map((r) => ({
            key: r.key,
            letter: r.letter,
            ...r.result,
            ...(r.attempts !== undefined ? { failedAttempts: r.attempts } : {}),
          })),
        })}\n`,
      );
    } else {
      const rows = replays.map((r) => [
        String(r.result.index),
        r.key,
        r.result.status !== undefined ? String(r.result.status) : (r.result.error ?? '-'),
        formatMs(r.result.latencyMs),
        r.result.attempts.map(describeAttempt).join(' → '),
        describeLetter(r),
      ]);
      const done = replays.filter((r) => r.result.ok).length;
      io.stdout(
        `POST ${url!.href}  ${replays.length} dead ${replays.length === 1 ? 'letter' : 'letters'} from ${open.where}\n\n${table(['#', 'key', 'status', 'latency', 'answers', 'letter'], rows)}\n\n${done} of ${replays.length} ${replays.length === 1 ? 'replay' : 'replays'} ended 2xx\n`,
      );
    }
    const unreachable = replays.find((r) => r.result.status === undefined);
    if (unreachable && replays.every((r) => r.result.status === undefined)) {
      io.stderr(
        `${NAME}: could not reach ${url!.host} (${unreachable.result.error}); is the server running?\n`,
      );
      return EXIT.usage;
    }
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    await open.close();
  }
}
