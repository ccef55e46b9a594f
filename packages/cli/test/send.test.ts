import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay, type DeliveryResult, runCli } from '../src/index.js';
import { captureIo, closedPort, type Script, startServer } from './server.js';

const SECRET = 'whsec_cli_test';
const FAST = ['--backoff-ms', '10', '--max-backoff-ms', '50'];

let server: Awaited<ReturnType<typeof startServer>>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ittybit-cli-'));
  server = await startServer({
    '/ok': () => ({ status: 200, body: '{"received":true}' }),
    '/500-then-200': (n) => ({ status: n === 0 ? 500 : 200 }),
    '/always-500': () => ({ status: 500 }),
    '/503-retry-after': (n) =>
      n < 2 ? { status: 503, headers: { 'retry-after': '5' } } : { status: 200 },
    '/400': () => ({ status: 400, body: '{"error":"invalid_payload"}' }),
    '/401': () => ({ status: 401 }),
    '/slow-then-fast': (n) => ({ status: 200, delayMs: n === 0 ? 1_000 : 0 }),
    '/always-slow': () => ({ status: 200, delayMs: 1_000 }),
    '/dup': (n) => ({
      status: 200,
      headers: n > 0 ? { 'ittybit-webhook-duplicate': 'true' } : undefined,
    }),
    '/consumed': () => ({ status: 500, body: '{"error":"body_consumed"}' }),
    '/busy-then-dup': (n): ReturnType<Script> =>
      n === 0
        ? { status: 503, headers: { 'retry-after': '5' }, body: '{"error":"in_progress"}' }
        : { status: 200, headers: { 'ittybit-webhook-duplicate': 'true' }, body: '{}' },
    '/topics': () => ({ status: 200, body: '{"received":true}' }),
  });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The check a receiver makes, written independently of the CLI: hex HMAC-SHA256 of the bytes. */
function verifySignature(body: Buffer, header: string, secret: string): boolean {
  return createHmac('sha256', secret).update(body).digest('hex') === header;
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const capture = captureIo(env);
  const code = await runCli(args, capture.io);
  return { code, stdout: capture.stdout(), stderr: capture.stderr() };
}

async function runJson(args: string[]) {
  const result = await run([...args, '--json']);
  const report = JSON.parse(result.stdout) as { ok: boolean; deliveries: DeliveryResult[] };
  return { ...result, report };
}

describe('send', () => {
  it('signs the exact body like the sender and answers 0 on a 2xx', async () => {
    const { code, stdout } = await run([
      'send',
      server.url('/ok'),
      '--secret',
      SECRET,
      '--metadata',
      'exportId=e_42',
      '--metadata',
      'note=a=b',
    ]);
    expect(code).toBe(0);
    const [seen] = server.on('/ok');
    expect(seen!.headers['content-type']).toBe('application/json');
    const signature = seen!.headers['ittybit-signature'] as string;
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature(seen!.body, signature, SECRET)).toBe(true);
    const event = JSON.parse(seen!.body.toString());
    expect(event).toMatchObject({ object: 'event', kind: 'task.succeeded' });
    expect(event.id).toMatch(/^evt_/);
    expect(Number.isInteger(event.created_at)).toBe(true);
    expect(Math.abs(event.created_at - Date.now() / 1000)).toBeLessThan(60);
    const task = event.data;
    expect(task).toMatchObject({
      object: 'task',
      status: 'succeeded',
      kind: 'video',
      metadata: { exportId: 'e_42', note: 'a=b' },
    });
    expect(task.output.url).toMatch(/^https:/);
    expect(typeof task.completed_at).toBe('number');
    expect(stdout).toContain(
      `POST ${server.url('/ok')}  task.succeeded ${event.id} (${task.id}) × 1, 1 at a time`,
    );
    expect(stdout).toMatch(/#\s+id\s+attempts\s+status\s+latency\s+answers/);
    expect(stdout).toContain('1 of 1 delivery ended 2xx');
  });

  it('builds failed and cancelled tasks of other kinds', async () => {
    await run([
      'send',
      server.url('/ok'),
      '--secret',
      SECRET,
      '--status',
      'failed',
      '--kind',
      'audio',
    ]);
    await run([
      'send',
      server.url('/ok'),
      '--secret',
      SECRET,
      '--status',
      'cancelled',
      '--id',
      'task_fixed',
    ]);
    const [failed, cancelled] = server
      .on('/ok')
      .slice(-2)
      .map((s) => JSON.parse(s.body.toString()));
    expect(failed).toMatchObject({
      kind: 'task.failed',
      data: { status: 'failed', kind: 'audio' },
    });
    expect(typeof failed.data.error).toBe('string');
    expect(failed.data.output).toBeUndefined();
    expect(cancelled).toMatchObject({
      kind: 'task.failed',
      data: { id: 'task_fixed', status: 'cancelled' },
    });
  });

  it('retries a 500 with the same bytes and signature, then succeeds', async () => {
    const { code, report, stdout } = await runJson([
      'send',
      server.url('/500-then-200'),
      '--secret',
      SECRET,
      ...FAST,
    ]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const [delivery] = report.deliveries;
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(delivery!.ok).toBe(true);
    const [first, second] = server.on('/500-then-200');
    expect(second!.body.equals(first!.body)).toBe(true);
    expect(second!.headers['ittybit-signature']).toBe(first!.headers['ittybit-signature']);
  });

  it('gives up after --max-attempts 5xx answers and exits 1', async () => {
    const { code, report } = await runJson([
      'send',
      server.url('/always-500'),
      '--secret',
      SECRET,
      '--max-attempts',
      '3',
      ...FAST,
    ]);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.deliveries[0]!.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(server.on('/always-500')).toHaveLength(3);
  });

  it('retries a 503 and reports its Retry-After', async () => {
    const { code, report } = await runJson([
      'send',
      server.url('/503-retry-after'),
      '--secret',
      SECRET,
      ...FAST,
    ]);
    expect(code).toBe(0);
    const attempts = report.deliveries[0]!.attempts;
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(attempts[0]!.retryAfter).toBe('5');
  });

  it('never retries a 4xx, and exits 1', async () => {
    for (const path of ['/400', '/401']) {
      const { code, stdout } = await run(['send', server.url(path), '--secret', SECRET, ...FAST]);
      expect(code).toBe(1);
      expect(server.on(path)).toHaveLength(1);
      expect(stdout).toContain('0 of 1 delivery ended 2xx');
    }
  });

  it('retries a timeout', async () => {
    const { code, report } = await runJson([
      'send',
      server.url('/slow-then-fast'),
      '--secret',
      SECRET,
      '--timeout-ms',
      '200',
      ...FAST,
    ]);
    expect(code).toBe(0);
    expect(report.deliveries[0]!.attempts.map((a) => a.status ?? a.error)).toEqual([
      'ETIMEDOUT',
      200,
    ]);
  });

  it('exits 1 when every attempt timed out', async () => {
    const { code, report } = await runJson([
      'send',
      server.url('/always-slow'),
      '--secret',
      SECRET,
      '--timeout-ms',
      '100',
      '--max-attempts',
      '2',
      ...FAST,
    ]);
    expect(code).toBe(1);
    expect(report.deliveries[0]!.error).toBe('ETIMEDOUT');
    expect(report.deliveries[0]!.attempts).toHaveLength(2);
  });

  it('--times sends the same task again (duplicates), --concurrency at once', async () => {
    const { code, report, stdout } = await runJson([
      'send',
      server.url('/dup'),
      '--secret',
      SECRET,
      '--times',
      '4',
      '--concurrency',
      '2',
    ]);
    expect(code).toBe(0);
    expect(report.deliveries.map((d) => d.index)).toEqual([1, 2, 3, 4]);
    const bodies = server.on('/dup').map((s) => s.body.toString());
    expect(bodies).toHaveLength(4);
    expect(new Set(bodies).size).toBe(1);
    expect(new Set(report.deliveries.map((d) => d.taskId)).size).toBe(1);
    expect(report.deliveries.filter((d) => d.duplicate)).toHaveLength(3);
    expect(stdout).not.toContain('\n\n');
  });

  it('sends --payload byte for byte', async () => {
    const file = join(dir, 'pretty.json');
    const bytes = '{\n  "id": "task_pretty",\n  "status": "succeeded",\n  "kind": "video"\n}\n';
    await writeFile(file, bytes);
    const { code, stdout } = await run([
      'send',
      server.url('/ok'),
      '--secret',
      SECRET,
      '--payload',
      file,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('task_pretty');
    const seen = server.on('/ok').at(-1)!;
    expect(seen.body.toString()).toBe(bytes);
    expect(verifySignature(seen.body, seen.headers['ittybit-signature'] as string, SECRET)).toBe(
      true,
    );
  });

  it('takes the secret from ITTYBIT_WEBHOOK_SECRET', async () => {
    const { code } = await run(['send', server.url('/ok')], { ITTYBIT_WEBHOOK_SECRET: 'from_env' });
    expect(code).toBe(0);
    const seen = server.on('/ok').at(-1)!;
    expect(
      verifySignature(seen.body, seen.headers['ittybit-signature'] as string, 'from_env'),
    ).toBe(true);
  });

  it('sends --signature as given (a forged header)', async () => {
    await run(['send', server.url('/ok'), '--secret', SECRET, '--signature', 'f'.repeat(64)]);
    expect(server.on('/ok').at(-1)!.headers['ittybit-signature']).toBe('f'.repeat(64));
  });
});

describe('send --topic, --shape, --id, --event-id', () => {
  const last = (path: string) => JSON.parse(server.on(path).at(-1)!.body.toString());
  const expected: Record<string, { object: string; status: string }> = {
    'task.created': { object: 'task', status: 'processing' },
    'task.updated': { object: 'task', status: 'processing' },
    'task.succeeded': { object: 'task', status: 'succeeded' },
    'task.failed': { object: 'task', status: 'failed' },
    'run.created': { object: 'run', status: 'processing' },
    'run.updated': { object: 'run', status: 'processing' },
    'run.succeeded': { object: 'run', status: 'succeeded' },
    'run.failed': { object: 'run', status: 'failed' },
  };

  it.each(Object.entries(expected))(
    '--topic %s sends that event, data of the right object and status',
    async (topic, { object, status }) => {
      const { code, report } = await runJson([
        'send',
        server.url('/topics'),
        '--secret',
        SECRET,
        '--topic',
        topic,
        '--metadata',
        'exportId=e_7',
      ]);
      expect(code).toBe(0);
      const event = last('/topics');
      expect(event).toMatchObject({
        object: 'event',
        kind: topic,
        data: { object, status, metadata: { exportId: 'e_7' } },
      });
      expect(event.id).toMatch(/^evt_/);
      expect(event.data.id.startsWith(`${object}_`)).toBe(true);
      if (object === 'run') expect(event.data.tasks.length).toBeGreaterThan(0);
      if (status === 'processing' && object === 'task') {
        expect(event.data.progress).toEqual(expect.any(Number));
      }
      expect(report).toMatchObject({ topic, eventId: event.id, taskId: event.data.id });
    },
  );

  it('--shape task sends the bare task, --shape job the job', async () => {
    await run(['send', server.url('/topics'), '--secret', SECRET, '--shape', 'task']);
    const task = last('/topics');
    expect(task.object).toBeUndefined();
    expect(task.kind).toBe('video');
    expect(task).toMatchObject({ status: 'succeeded' });
    expect(task.id).toMatch(/^task_/);
    await run([
      'send',
      server.url('/topics'),
      '--secret',
      SECRET,
      '--shape',
      'job',
      '--status',
      'failed',
      '--id',
      'job_fixed',
    ]);
    const job = last('/topics');
    expect(job).toMatchObject({ id: 'job_fixed', object: 'job', status: 'failed' });
    expect(job.tasks[0].error).toEqual(expect.any(String));
  });

  it('--id is the task id and names its output URL, in every shape', async () => {
    for (const shape of ['event', 'task']) {
      await run([
        'send',
        server.url('/topics'),
        '--secret',
        SECRET,
        '--shape',
        shape,
        '--id',
        'task_mine',
        '--kind',
        'image',
      ]);
      const body = last('/topics');
      const task = shape === 'event' ? body.data : body;
      expect(task.id).toBe('task_mine');
      expect(task.output.url).toBe('https://cdn.example.com/task_mine.jpg');
    }
    await run([
      'send',
      server.url('/topics'),
      '--secret',
      SECRET,
      '--id',
      'run_mine',
      '--topic',
      'run.succeeded',
    ]);
    expect(last('/topics').data.id).toBe('run_mine');
  });

  it('--event-id with --times 2 redelivers the same event', async () => {
    const { code, report } = await runJson([
      'send',
      server.url('/dup'),
      '--secret',
      SECRET,
      '--event-id',
      'evt_fixed_1',
      '--times',
      '2',
    ]);
    expect(code).toBe(0);
    const bodies = server
      .on('/dup')
      .slice(-2)
      .map((s) => s.body.toString());
    expect(bodies[0]).toBe(bodies[1]);
    expect(JSON.parse(bodies[0]!).id).toBe('evt_fixed_1');
    expect(report).toMatchObject({ eventId: 'evt_fixed_1', topic: 'task.succeeded' });
  });

  it('two runs without --event-id send two distinct events of one task', async () => {
    for (let i = 0; i < 2; i++) {
      await run([
        'send',
        server.url('/topics'),
        '--secret',
        SECRET,
        '--topic',
        'task.updated',
        '--id',
        'task_progress',
      ]);
    }
    const [a, b] = server
      .on('/topics')
      .slice(-2)
      .map((s) => JSON.parse(s.body.toString()));
    expect(a.data.id).toBe('task_progress');
    expect(b.data.id).toBe('task_progress');
    expect(a.id).not.toBe(b.id);
  });
});

describe('send: every answer with its reason, without --json', () => {
  it('prints the error code of each answer', async () => {
    const { code, stdout } = await run([
      'send',
      server.url('/consumed'),
      '--secret',
      SECRET,
      '--max-attempts',
      '2',
      ...FAST,
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/500 body_consumed → 500 body_consumed$/m);
  });

  it('prints the duplicate marker and a busy 503', async () => {
    const { code, stdout } = await run([
      'send',
      server.url('/busy-then-dup'),
      '--secret',
      SECRET,
      ...FAST,
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/503 in_progress → 200 dup$/m);
  });

  it('--verbose prints each attempt with its reason as it happens', async () => {
    const { stderr } = await run(['send', server.url('/400'), '--secret', SECRET, '--verbose']);
    expect(stderr).toMatch(/^#1 task_\w+ attempt 1: 400 invalid_payload \(\d+ ms\)$/m);
  });
});

describe('--version', () => {
  it('prints the version of package.json', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await run([flag]);
      expect(code).toBe(0);
      expect(stdout).toBe(`${pkg.version}\n`);
    }
  });
});

describe('send: one-line errors, exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a missing secret',
      ['send', 'http://127.0.0.1:9/x'],
      /no secret: pass --secret <secret> or set ITTYBIT_WEBHOOK_SECRET/,
    ],
    ['a bad URL', ['send', 'not a url', '--secret', 's'], /"not a url" is not a valid URL/],
    ['a non-http URL', ['send', 'ftp://127.0.0.1/x', '--secret', 's'], /not an http\(s\) URL/],
    ['a missing URL', ['send', '--secret', 's'], /missing <url>/],
    [
      'an unreadable file',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--payload', '/nonexistent/task.json'],
      /cannot read \/nonexistent\/task.json: no such file/,
    ],
    [
      'a bad status',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--status', 'done'],
      /--status must be one of succeeded, failed, cancelled/,
    ],
    [
      'a bad number',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--times', '0'],
      /--times must be a whole number >= 1/,
    ],
    [
      'bad metadata',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--metadata', 'novalue'],
      /--metadata expects key=value/,
    ],
    [
      'an unknown option',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--bogus'],
      /Unknown option '--bogus'/,
    ],
    [
      'an unknown topic',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--topic', 'task.done'],
      /--topic must be one of task.created, task.updated, task.succeeded, task.failed, run.created, run.updated, run.succeeded, run.failed; got "task.done"/,
    ],
    [
      'an unknown shape',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--shape', 'xml'],
      /--shape must be one of event, task, job; got "xml"/,
    ],
    [
      'a topic with the task shape',
      [
        'send',
        'http://127.0.0.1:9/x',
        '--secret',
        's',
        '--shape',
        'task',
        '--topic',
        'run.succeeded',
      ],
      /a topic belongs to the event shape; the task shape has none \(use --status\)/,
    ],
    [
      'an event id with the job shape',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--shape', 'job', '--event-id', 'evt_1'],
      /an event id belongs to the event shape; the job shape has none/,
    ],
    [
      'a status against the topic',
      [
        'send',
        'http://127.0.0.1:9/x',
        '--secret',
        's',
        '--topic',
        'task.succeeded',
        '--status',
        'failed',
      ],
      /a task.succeeded event carries status succeeded, not failed/,
    ],
    [
      'a status on an update topic',
      [
        'send',
        'http://127.0.0.1:9/x',
        '--secret',
        's',
        '--topic',
        'task.updated',
        '--status',
        'succeeded',
      ],
      /a task.updated event carries a task still processing; drop --status/,
    ],
    [
      'a kind on a run topic',
      ['send', 'http://127.0.0.1:9/x', '--secret', 's', '--topic', 'run.failed', '--kind', 'image'],
      /--kind applies to task topics/,
    ],
    [
      '--payload with event flags',
      [
        'send',
        'http://127.0.0.1:9/x',
        '--secret',
        's',
        '--payload',
        'x.json',
        '--topic',
        'run.failed',
        '--event-id',
        'evt_1',
      ],
      /--payload is sent byte for byte; drop --topic, --event-id or edit the file/,
    ],
    [
      '--payload with task flags',
      [
        'send',
        'http://127.0.0.1:9/x',
        '--secret',
        's',
        '--payload',
        'x.json',
        '--status',
        'failed',
      ],
      /--payload is sent byte for byte; drop --status/,
    ],
    ['an unknown command', ['deliver'], /unknown command "deliver"/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^ittybit-webhooks: /);
  });

  it('a refused connection, after its retries', async () => {
    const port = await closedPort();
    const { code, stderr, report } = await runJson([
      'send',
      `http://127.0.0.1:${port}/webhooks/ittybit`,
      '--secret',
      's',
      '--max-attempts',
      '3',
      ...FAST,
    ]);
    expect(code).toBe(2);
    expect(report.deliveries[0]!.attempts.map((a) => a.error)).toEqual([
      'ECONNREFUSED',
      'ECONNREFUSED',
      'ECONNREFUSED',
    ]);
    expect(stderr.trim()).toBe(
      `ittybit-webhooks: could not connect to 127.0.0.1:${port} (ECONNREFUSED) after 3 attempt(s); is the server running?`,
    );
  });
});

describe('sign', () => {
  // The known-answer vectors of docs/sender.md.
  const vectors: Array<[string, Uint8Array | string, string]> = [
    ['empty', '', 'f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd'],
    [
      'json',
      '{"obj1":"hello","obj2":"world"}',
      'bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363',
    ],
    ['emoji', '\u{1F600}', '837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43'],
  ];
  it.each(vectors)('prints the header for the %s vector', async (name, body, expected) => {
    const file = join(dir, `${name}.bin`);
    await writeFile(file, body);
    const { code, stdout } = await run(['sign', file, '--secret', 'test_secret']);
    expect(code).toBe(0);
    expect(stdout).toBe(`Ittybit-Signature: ${expected}\n`);
    const fromEnv = await run(['sign', file, '--value'], { ITTYBIT_WEBHOOK_SECRET: 'test_secret' });
    expect(fromEnv.stdout).toBe(`${expected}\n`);
  });

  it('reads standard input with "-"', async () => {
    const capture = captureIo({ ITTYBIT_WEBHOOK_SECRET: 'test_secret' });
    const code = await runCli(['sign', '-'], {
      ...capture.io,
      readStdin: async () => new TextEncoder().encode('{"obj1":"hello","obj2":"world"}'),
    });
    expect(code).toBe(0);
    expect(capture.stdout()).toContain(
      'bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363',
    );
  });

  it('fails with one line on an unreadable file or a missing secret', async () => {
    const missing = await run(['sign', join(dir, 'nope.json'), '--secret', 's']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^ittybit-webhooks: cannot read .*nope\.json: no such file\.\n$/,
    );
    const noSecret = await run(['sign', join(dir, 'nope.json')]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/no secret/);
  });
});

describe('help', () => {
  it.each([[['--help']], [['send', '--help']], [['sign', '--help']], [['send', '-h']]])(
    '%j prints usage and exits 0',
    async (args) => {
      const { code, stdout } = await run(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: npx @ittybit-webhooks\/cli /);
    },
  );
  it('no command prints usage to stderr and exits 2', async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Usage: npx @ittybit-webhooks\/cli /);
  });
});

describe('backoffDelay', () => {
  it('doubles from backoffMs, capped, with optional jitter', () => {
    const options = { backoffMs: 100, maxBackoffMs: 500 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, options))).toEqual([100, 200, 400, 500, 500]);
    expect(backoffDelay(3, { ...options, jitter: true }, () => 0.5)).toBe(200);
    expect(backoffDelay(1)).toBe(500);
  });
});
