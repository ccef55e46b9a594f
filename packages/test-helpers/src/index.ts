// Shared by the tests of core and the adapters: a server on an ephemeral port, a logger that
// keeps its lines, signed deliveries, and raw chunked uploads that stop when the server answers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';

/** A running server on an ephemeral port of 127.0.0.1. */
export interface Running {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Stops listening and cuts the connections still open (requests a test left open on purpose). */
  close(): Promise<void>;
}

/**
 * Serves `target` (a `node:http` server, or a request listener to make one of) on an ephemeral
 * port of 127.0.0.1. The one way every test here starts a server.
 */
export async function listen(target: http.Server | http.RequestListener): Promise<Running> {
  const server = target instanceof http.Server ? target : http.createServer(target);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A logger that keeps every line as `<level> <message>`, so tests can assert what users read. */
export function captureLogger(): Logger & { lines: string[]; text(): string } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
  };
  return {
    lines,
    text: () => lines.join('\n'),
    error: keep('error'),
    warn: keep('warn'),
    info: keep('info'),
    debug: keep('debug'),
  };
}

/** A signed delivery of a fresh task (succeeded unless `overrides.status` says otherwise). */
export async function signedDelivery(
  secret: string,
  overrides: Parameters<typeof createTestTask>[0] = {},
) {
  const task = createTestTask(overrides);
  return { task, ...(await createTestDelivery(task, secret)) };
}

/** POSTs with fetch (Content-Length set). */
export async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** What a client saw from one chunked upload. */
export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** How many chunks the client had written when the answer arrived. */
  chunksWritten: number;
}

/**
 * POSTs `chunks` with chunked transfer encoding (no Content-Length) through node:http, and stops
 * writing as soon as the server answers (an early 413). Resolves with the answer.
 */
export function postChunked(
  url: string,
  headers: Record<string, string>,
  chunks: readonly Uint8Array[],
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers });
    let answered = false;
    let chunksWritten = 0;
    request.on('response', (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('error', reject);
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(parts).toString('utf8'),
          chunksWritten,
        });
        request.destroy();
      });
    });
    // Once answered, the server may close the socket while we still write: that is expected.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && chunksWritten < chunks.length) {
        if (request.destroyed) return;
        const more = request.write(chunks[chunksWritten++]!);
        if (!more) {
          request.once('drain', pump);
          return;
        }
      }
      if (!answered) request.end();
    };
    pump();
  });
}

/** `text` as UTF-8 bytes, split into chunks of `size` bytes. */
export function splitIntoChunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** The same chunk `count` times (a large streamed upload without holding it in memory twice). */
export function repeatChunk(chunk: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, () => chunk);
}
