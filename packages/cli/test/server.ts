import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import express from 'express';

/** One request the test server saw. */
export interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What the server does with the n-th request (0-based) to a path. */
export type Script = (
  n: number,
  request: Seen,
) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/** A real HTTP server on 127.0.0.1 and an ephemeral port, answering each path by its script. */
export async function startServer(scripts: Record<string, Script>) {
  const seen: Seen[] = [];
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const request: Seen = { path, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(request);
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const script = scripts[path];
      const answer = script ? script(n, request) : { status: 404 };
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '{}');
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, answer.delayMs);
        timers.add(timer);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    seen,
    on: (path: string) => seen.filter((s) => s.path === path),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Captures what {@link runCli} writes. */
export function captureIo(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      env,
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

/** A port nothing listens on: bound, read, then closed. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Payload = { id: string; metadata?: Record<string, unknown> };
type Ctx = { event?: { id?: string | undefined } | undefined };

/**
 * The real receiver a user writes: Express with @ittybit-webhooks/express and the in-memory store
 * on 127.0.0.1, a handler for every topic. Each call is recorded as
 * `<handler> <task or run id> <event id or ->`; `metadata.slow=yes` makes a handler take 300 ms,
 * `metadata.flaky=yes` makes the first such call throw.
 */
export async function startReceiver(secret: string) {
  const handled: string[] = [];
  let flaky = 0;
  const record = (handler: string) => async (payload: Payload, ctx: Ctx) => {
    if (payload.metadata?.slow === 'yes') await new Promise((r) => setTimeout(r, 300));
    if (payload.metadata?.flaky === 'yes' && flaky++ === 0) throw new Error('first try fails');
    handled.push(`${handler} ${payload.id} ${ctx.event?.id ?? '-'}`);
  };
  const app = express();
  app.post(
    '/webhooks/ittybit',
    ittybitWebhook({
      secret,
      logger: false,
      onSucceeded: record('onSucceeded'),
      onFailed: record('onFailed'),
      on: {
        'task.created': record('task.created'),
        'task.updated': record('task.updated'),
        'run.created': record('run.created'),
        'run.updated': record('run.updated'),
        'run.succeeded': record('run.succeeded'),
        'run.failed': record('run.failed'),
      },
    }),
  );
  return { ...(await listenExpress(app)), handled };
}

/** Listens on 127.0.0.1 and an ephemeral port; `url` is the webhook path on it. */
export async function listenExpress(app: express.Express) {
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/ittybit`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
