import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { signPayload } from '@ittybit-webhooks/core/testing';
import { EXIT, integer, NAME, parseUrl, RUN, UsageError, usage } from './args.js';
import { deadLetters } from './dead-letters.js';
import {
  DEFAULT_RETRY,
  type DeliveryResult,
  type SendDeliveriesOptions,
  sendDeliveries,
  taskIdOf,
} from './deliver.js';
import { describeAttempt, formatTable } from './format.js';
import {
  buildDelivery,
  parseMetadataPairs,
  SEND_KINDS,
  SEND_SHAPES,
  SEND_STATUSES,
  SEND_TOPICS,
  type SendShape,
  type SendStatus,
} from './task.js';

export { EXIT };

/** Where {@link runCli} reads and writes; defaults to the process's own. */
export interface CliIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: Record<string, string | undefined>;
  /** Reads all of standard input (for `sign -`). */
  readStdin?: () => Promise<Uint8Array>;
}

const SECRET_ENV = 'ITTYBIT_WEBHOOK_SECRET';

/**
 * The package's version, read from its package.json: one directory above this file, both in the
 * source tree (src/) and in the build (dist/) of a checkout or an installed tarball.
 */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

const MAIN_HELP = `Usage: ${RUN} <command> [options]

Act like Ittybit's webhook sender against your local endpoint: signed deliveries of every
topic, retries with backoff on 5xx, duplicates and redeliveries on demand.

Commands:
  send <url>    POST a signed event (or task, or job) to <url> and report every attempt
  sign <file>   Print the Ittybit-Signature header for a body ("-" reads stdin)
  dead-letters  List, show and replay deliveries whose handler failed, kept in Redis or
                PostgreSQL by the receiver's deadLetters sink

Options:
  -h, --help     Show help (also: ${RUN} <command> --help)
  -v, --version  Show the version

The secret comes from --secret or the ${SECRET_ENV} environment variable. Installed in a
project (npm install --save-dev @ittybit-webhooks/cli), the command is ${NAME}.
Example:
  ${RUN} send http://127.0.0.1:3000/webhooks/ittybit --secret whsec_test --times 2
`;

const SEND_HELP = `Usage: ${RUN} send <url> [options]

Builds a delivery in Ittybit's format (or sends --payload byte for byte), signs the exact body
with HMAC-SHA256 into Ittybit-Signature, and POSTs it. Like the sender, it retries 5xx answers,
timeouts and connection errors with exponential backoff, and never retries a 4xx.

By default the body is an event envelope, as Webhook Endpoints send:
  {"id":"evt_...","object":"event","kind":"task.succeeded","data":{...},"created_at":<seconds>}

What to send:
  --topic <topic>       the event's topic: ${SEND_TOPICS.join(', ')}
                        (default task.succeeded, or task.failed with --status failed|cancelled)
  --status <s>          ${SEND_STATUSES.join(' | ')} (default succeeded); with --topic task.failed,
                        failed or cancelled
  --shape <shape>       event (default) | task (the bare task of a per-task webhook_url) |
                        job (the API reference's job); task and job take --status, not --topic
  --kind <k>            ${SEND_KINDS.join(' | ')} (default video), for task topics and shapes
  --metadata <k=v>      a metadata entry; repeat for more
  --id <id>             a fixed task id (the run's id with a run.* topic, the job's with --shape
                        job); a success's output URL is built from it (default: a fresh id)
  --event-id <evt_id>   a fixed event id (default: a fresh evt_... id); the same event sent
                        again is a redelivery, which a receiver must not handle twice
  --payload <file>      send this file's exact bytes instead of a built delivery
Signing:
  --secret <secret>     the webhook secret (default: $${SECRET_ENV})
  --signature <value>   send this header value instead of the real signature (to test refusals)
Deliveries:
  --times <n>           deliver the SAME body n times: duplicates (default 1)
  --concurrency <n>     how many deliveries run at once (default 1)
Retries:
  --max-attempts <n>    attempts per delivery, the first included (default ${DEFAULT_RETRY.maxAttempts})
  --backoff-ms <ms>     delay before the 2nd attempt, doubled after each (default ${DEFAULT_RETRY.backoffMs})
  --max-backoff-ms <ms> longest delay between attempts (default ${DEFAULT_RETRY.maxBackoffMs})
  --timeout-ms <ms>     time allowed for one attempt (default ${DEFAULT_RETRY.timeoutMs})
  --jitter              randomise each delay between 0 and its value (default off)
Output:
  --json                print one JSON object (deliveries, attempts) instead of the table
  --verbose             print each attempt to stderr as it happens
  -h, --help            show this help

Each answer is shown with its reason: the status, the error code of its body and "dup" when
the receiver marked it a duplicate, e.g. 503 in_progress → 200 dup.

Exit status: 0 when every delivery ended 2xx; 1 when one ended otherwise (a 4xx, or a 5xx
or timeout after the last attempt); 2 for bad usage, an unreadable file, a missing secret,
or an endpoint that refused every connection.
`;

const SIGN_HELP = `Usage: ${RUN} sign <file> [--secret <secret>]

Prints the header Ittybit would send with this exact body:
  Ittybit-Signature: <lowercase hex HMAC-SHA256 of the file's bytes>
"-" reads the body from standard input. The secret defaults to $${SECRET_ENV}.

Options:
  --secret <secret>  the webhook secret
  --value            print only the hex value, without the header name
  -h, --help         show this help
`;

function secretFrom(flag: string | undefined, env: CliIo['env']): string {
  const secret = flag ?? env?.[SECRET_ENV];
  if (!secret) {
    throw new UsageError(`no secret: pass --secret <secret> or set ${SECRET_ENV}.`);
  }
  return secret;
}

async function readBody(path: string, io: CliIo): Promise<Uint8Array> {
  if (path === '-') {
    if (!io.readStdin) throw new UsageError('cannot read standard input here.');
    return io.readStdin();
  }
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? String(error));
    throw new UsageError(`cannot read ${path}: ${why}.`);
  }
}

/** What a body is, for the report: its topic and event id when it is an event, and its id. */
function describeBody(body: Uint8Array | string): {
  id?: string;
  topic?: string;
  eventId?: string;
  label: string;
} {
  const id = taskIdOf(body);
  let parsed: { object?: unknown; kind?: unknown; id?: unknown } | undefined;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
  } catch {
    parsed = undefined;
  }
  if (parsed?.object === 'event') {
    const topic = typeof parsed.kind === 'string' ? parsed.kind : undefined;
    const eventId = typeof parsed.id === 'string' ? parsed.id : undefined;
    return {
      ...(id !== undefined ? { id } : {}),
      ...(topic !== undefined ? { topic } : {}),
      ...(eventId !== undefined ? { eventId } : {}),
      label: `${topic ?? 'event'} ${eventId ?? '(no event id)'} (${id ?? 'no id'})`,
    };
  }
  return { ...(id !== undefined ? { id } : {}), label: id ?? '(no id)' };
}

async function send(args: string[], io: Required<Pick<CliIo, 'stdout' | 'stderr'>> & CliIo) {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        secret: { type: 'string' },
        signature: { type: 'string' },
        topic: { type: 'string' },
        status: { type: 'string' },
        shape: { type: 'string' },
        'event-id': { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'string', multiple: true },
        id: { type: 'string' },
        payload: { type: 'string' },
        times: { type: 'string' },
        concurrency: { type: 'string' },
        'max-attempts': { type: 'string' },
        'backoff-ms': { type: 'string' },
        'max-backoff-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
        jitter: { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
    }),
  );
  if (values.help) {
    io.stdout(SEND_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 1) {
    throw new UsageError(`send takes one <url>; got ${positionals.length} arguments.`);
  }
  const url = parseUrl(positionals[0]);
  const secret = secretFrom(values.secret, io.env);
  const oneOf = <T extends string>(
    flag: string,
    value: string | undefined,
    allowed: readonly T[],
  ) => {
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
      throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}; got "${value}".`);
    }
    return value as T | undefined;
  };
  const topic = oneOf('topic', values.topic, SEND_TOPICS);
  const status = oneOf<SendStatus>('status', values.status, SEND_STATUSES);
  const shape = oneOf<SendShape>('shape', values.shape, SEND_SHAPES);
  const kind = oneOf('kind', values.kind, SEND_KINDS);
  const retry = {
    maxAttempts: integer('max-attempts', values['max-attempts'], 1),
    backoffMs: integer('backoff-ms', values['backoff-ms'], 0),
    maxBackoffMs: integer('max-backoff-ms', values['max-backoff-ms'], 0),
    timeoutMs: integer('timeout-ms', values['timeout-ms'], 1),
  };
  const times = integer('times', values.times, 1) ?? 1;
  const concurrency = integer('concurrency', values.concurrency, 1) ?? 1;

  let body: Uint8Array | string;
  if (values.payload !== undefined) {
    const clash = (
      ['topic', 'status', 'shape', 'kind', 'metadata', 'id', 'event-id'] as const
    ).filter((k) => values[k] !== undefined);
    if (clash.length > 0) {
      throw new UsageError(
        `--payload is sent byte for byte; drop --${clash.join(', --')} or edit the file.`,
      );
    }
    body = await readBody(values.payload, io);
  } else {
    try {
      body = JSON.stringify(
        buildDelivery({
          metadata: parseMetadataPairs(values.metadata ?? []),
          ...(topic !== undefined ? { topic } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(shape !== undefined ? { shape } : {}),
          ...(kind !== undefined ? { kind } : {}),
          ...(values.id ? { id: values.id } : {}),
          ...(values['event-id'] ? { eventId: values['event-id'] } : {}),
        }),
      );
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const described = describeBody(body);

  const options: SendDeliveriesOptions = {
    url,
    body,
    secret,
    times,
    concurrency,
    jitter: values.jitter ?? false,
    taskId: described.id ?? '(no id)',
    ...(values.signature !== undefined ? { signature: values.signature } : {}),
    ...Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)),
    ...(values.verbose
      ? {
          onAttempt: (attempt, delivery) =>
            io.stderr(
              `#${delivery.index} ${delivery.taskId} attempt ${attempt.attempt}: ${describeAttempt(attempt)} (${attempt.latencyMs} ms)\n`,
            ),
        }
      : {}),
  };
  const results = await sendDeliveries(options);
  const ok = results.every((r) => r.ok);
  if (values.json) {
    io.stdout(
      `${JSON.stringify({
        ok,
        url: url.href,
        ...(described.topic !== undefined ? { topic: described.topic } : {}),
        ...(described.eventId !== undefined ? { eventId: described.eventId } : {}),
        taskId: options.taskId,
        deliveries: results,
      })}\n`,
    );
  } else {
    io.stdout(
      `POST ${url.href}  ${described.label} × ${times}, ${concurrency} at a time\n\n${formatTable(results)}\n`,
    );
  }
  const unreachable = results.find(isUnreachable);
  if (unreachable) {
    io.stderr(
      `${NAME}: could not connect to ${url.host} (${unreachable.error}) after ${unreachable.attempts.length} attempt(s); is the server running?\n`,
    );
    return EXIT.usage;
  }
  return ok ? EXIT.ok : EXIT.failed;
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

/** Every attempt failed to connect at all: the endpoint is not there. */
function isUnreachable(result: DeliveryResult): boolean {
  return result.attempts.every(
    (a) => a.status === undefined && CONNECTION_ERRORS.has(a.error ?? ''),
  );
}

async function sign(args: string[], io: Required<Pick<CliIo, 'stdout' | 'stderr'>> & CliIo) {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        secret: { type: 'string' },
        value: { type: 'boolean' },
      },
    }),
  );
  if (values.help) {
    io.stdout(SIGN_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError('sign takes one <file> ("-" for standard input).');
  }
  const secret = secretFrom(values.secret, io.env);
  const body = await readBody(positionals[0]!, io);
  const signature = await signPayload(body, secret);
  io.stdout(values.value ? `${signature}\n` : `Ittybit-Signature: ${signature}\n`);
  return EXIT.ok;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/**
 * Runs the `ittybit-webhooks` command with `argv` (without `node` and the script) and resolves
 * to its exit code ({@link EXIT}). Never rejects: errors are written as one line to stderr.
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const full = {
    stdout: io.stdout ?? ((text: string) => void process.stdout.write(text)),
    stderr: io.stderr ?? ((text: string) => void process.stderr.write(text)),
    env: io.env ?? process.env,
    readStdin: io.readStdin ?? (() => readAll(process.stdin)),
  };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'send':
        return await send(rest, full);
      case 'sign':
        return await sign(rest, full);
      case 'dead-letters':
        return await deadLetters(rest, full);
      case '-h':
      case '--help':
      case 'help':
        full.stdout(MAIN_HELP);
        return EXIT.ok;
      case '-v':
      case '--version':
        full.stdout(`${version()}\n`);
        return EXIT.ok;
      case undefined:
        full.stderr(MAIN_HELP);
        return EXIT.usage;
      default:
        throw new UsageError(
          `unknown command "${command}"; try send, sign or dead-letters (${RUN} --help for more).`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      full.stderr(`${NAME}: ${error.message}\n`);
      return EXIT.usage;
    }
    full.stderr(`${NAME}: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.usage;
  }
}
