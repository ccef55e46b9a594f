// Shared by the tests of core, the adapters and the conformance suite: a server on an ephemeral
// port, a logger that keeps its lines, and signed deliveries.
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
