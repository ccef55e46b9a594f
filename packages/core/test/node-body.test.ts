import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isWebhookError } from '../src/index.js';
import { nodeBodyReader, type StreamReader } from '../src/node.js';
import { sleep } from './helpers.js';

const TIMEOUT_MS = 60;

/** What became of one read: the bytes or the error code, and whether the reader paused the request. */
interface Outcome {
  body?: string;
  error?: string;
  paused: boolean;
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/**
 * Posts `body` to a real Node server that reads it with `nodeBodyReader` and `read`, and waits
 * past the body timeout: a deadline left behind would then pause the request.
 */
async function readWith(read: StreamReader, body = 'hello'): Promise<Outcome> {
  let done!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => {
    done = resolve;
  });
  const server = createServer((req, res) => {
    let paused = false;
    const pause = req.pause;
    req.pause = function (this: IncomingMessage) {
      paused = true;
      return pause.call(this);
    };
    const reader = nodeBodyReader(req, { read, consumedHint: 'consumed', timeoutMs: TIMEOUT_MS });
    reader(1024).then(
      async (bytes) => {
        res.end('ok');
        await sleep(TIMEOUT_MS * 3);
        done({ body: Buffer.from(bytes as Uint8Array).toString(), paused });
      },
      async (error: unknown) => {
        res.end('error');
        await sleep(TIMEOUT_MS * 3);
        const code = isWebhookError(error) ? error.code : (error as Error).message;
        done({ error: code, paused });
      },
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
  return outcome;
}

/** Reads the stream to its end, then calls back (as raw-body does: never synchronously). */
const streamed: StreamReader = (stream, _options, callback) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
};

describe('nodeBodyReader with a callback reader', () => {
  it('resolves with the bytes the reader calls back with, and leaves no deadline behind', async () => {
    expect(await readWith(streamed)).toEqual({ body: 'hello', paused: false });
  });

  it('takes a reader that calls back at once, before any deadline is set', async () => {
    const atOnce: StreamReader = (_stream, _options, callback) => {
      callback(null, Buffer.from('kept'));
    };
    expect(await readWith(atOnce)).toEqual({ body: 'kept', paused: false });
  });

  it('rejects with what a reader throws, and sets no deadline for it', async () => {
    const throws: StreamReader = () => {
      throw new Error('reader broke');
    };
    expect(await readWith(throws)).toEqual({ error: 'reader broke', paused: false });
  });

  it('rejects with the error a reader calls back with', async () => {
    const fails: StreamReader = (_stream, _options, callback) => {
      setImmediate(() => callback(new Error('stream failed')));
    };
    expect(await readWith(fails)).toEqual({ error: 'stream failed', paused: false });
  });

  it('gives up with body_timeout when the reader never calls back, and pauses the request', async () => {
    const never: StreamReader = () => {};
    expect(await readWith(never)).toEqual({ error: 'body_timeout', paused: true });
  });

  it('hands the reader the Content-Length and the limit', async () => {
    let seen: unknown;
    const spy: StreamReader = (stream, options, callback) => {
      seen = options;
      streamed(stream, options, callback);
    };
    await readWith(spy, 'twelve bytes');
    expect(seen).toEqual({ length: '12', limit: 1024 });
  });
});
