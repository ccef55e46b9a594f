import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestTask } from '@ittybit-webhooks/core/testing';

export const SECRET = 'whsec_koa_test';

/** A running server on an ephemeral port. */
export interface Running {
  url: string;
  close(): Promise<void>;
}

/** Starts `listener` on 127.0.0.1 with an ephemeral port. */
export async function listen(listener: http.RequestListener): Promise<Running> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A logger that keeps every line. */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string) => {
    lines.push(message);
  };
  return { lines, error: keep, warn: keep, info: keep, debug: keep };
}

/** A signed delivery of a fresh succeeded task. */
export async function delivery(overrides: Parameters<typeof createTestTask>[0] = {}) {
  const task = createTestTask(overrides);
  return { task, ...(await createTestDelivery(task, SECRET)) };
}

/** POSTs with fetch (Content-Length set). */
export async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/**
 * POSTs `chunks` chunks of `chunkSize` bytes with node:http and no Content-Length (chunked
 * encoding). Resolves with the answer even when the server stops reading early.
 */
export function postChunked(
  url: string,
  headers: Record<string, string>,
  chunks: Uint8Array[],
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        body += text;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    // Once answered, the server may close the socket while we still write: that is expected.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    let next = 0;
    const write = () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        if (req.destroyed) return;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

/** `text` as UTF-8 bytes, split into chunks of `size` bytes. */
export function splitIntoChunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}
