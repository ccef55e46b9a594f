import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isWebhookError } from '../src/index.js';
import { nodeBodyReader, readStream, type StreamReader } from '../src/node.js';
import { sleep } from './helpers.js';

const TIMEOUT_MS = 60;

/** What became of one read: the bytes or the error code, and whether the reader paused the request. */
interface Outcome {
  body?: string;
  error?: string;
  paused: boolean;
  /** Whether the stream was read at all, and whether a listener was left on it. */
  read?: boolean;
  listenersLeft?: boolean;
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

/** A real Node server whose requests are read with `readStream` under `limit`. */
async function readStreamServer(limit: number): Promise<{ port: number; outcomes: Outcome[] }> {
  const outcomes: Outcome[] = [];
  const server = createServer((req, res) => {
    const listeners = () =>
      ['data', 'end', 'error', 'close'].map((event) => req.listenerCount(event)).join();
    const before = listeners();
    readStream(req, { length: req.headers['content-length'], limit }, (error, body) => {
      outcomes.push({
        ...(error
          ? { error: isWebhookError(error) ? error.code : String(error) }
          : { body: Buffer.from(body as Uint8Array).toString() }),
        paused: req.isPaused(),
        read: req.readableDidRead,
        listenersLeft: listeners() !== before,
      } as Outcome);
      res.setHeader('connection', 'close');
      res.end(error ? 'error' : 'ok');
      req.resume();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, outcomes };
}

/** Sends a raw HTTP/1.1 request: the head, then each chunk a few ms apart; `end: false` leaves mid-body. */
async function sendRaw(port: number, head: string, chunks: string[], end = true): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.on('error', () => {});
  socket.write(`POST / HTTP/1.1\r\nhost: localhost\r\n${head}\r\n`);
  for (const chunk of chunks) {
    await sleep(5);
    socket.write(chunk);
  }
  if (!end) {
    await sleep(20);
    socket.destroy();
    return;
  }
  await new Promise((resolve) => socket.once('close', resolve).resume());
}

/** Chunked transfer encoding of `parts`, one chunk each, then the last chunk. */
const chunked = (parts: string[]) => [
  ...parts.map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`),
  '0\r\n\r\n',
];

describe('readStream, the lighter stream reader', () => {
  it('reads a body sent whole, in many chunks, or empty: the exact bytes, no listener left', async () => {
    const { port, outcomes } = await readStreamServer(64);
    await sendRaw(port, 'content-length: 5\r\n', ['hello']);
    await sendRaw(port, 'transfer-encoding: chunked\r\n', chunked(['h€l', 'lo ', 'wörld']));
    await sendRaw(port, 'content-length: 0\r\n', []);
    const ok = { paused: false, read: true, listenersLeft: false };
    expect(outcomes).toEqual([
      { body: 'hello', ...ok },
      { body: 'h€llo wörld', ...ok },
      // No byte came, so the stream was never read: it ended all the same.
      { body: '', ...ok, read: false },
    ]);
  });

  it('refuses a Content-Length over the limit at once, without reading a byte', async () => {
    const { port, outcomes } = await readStreamServer(4);
    await sendRaw(port, 'content-length: 5\r\n', ['hello']);
    expect(outcomes).toEqual([
      { error: 'payload_too_large', paused: false, read: false, listenersLeft: false },
    ]);
  });

  it('stops past the limit while the chunks arrive, and pauses the stream', async () => {
    const { port, outcomes } = await readStreamServer(8);
    await sendRaw(port, 'transfer-encoding: chunked\r\n', chunked(['12345', '67890', 'more']));
    expect(outcomes).toEqual([
      { error: 'payload_too_large', paused: true, read: true, listenersLeft: false },
    ]);
  });

  it('fails with invalid_payload when the client goes away before the body ends', async () => {
    const { port, outcomes } = await readStreamServer(64);
    await sendRaw(port, 'content-length: 20\r\n', ['only part'], false);
    await sleep(20);
    expect(outcomes).toEqual([
      { error: 'invalid_payload', paused: true, read: true, listenersLeft: false },
    ]);
  });
});
