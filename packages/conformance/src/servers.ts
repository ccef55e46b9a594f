import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running server: its base URL and how to stop it. */
export interface Running {
  /** Full URL of the webhook route, e.g. `http://127.0.0.1:41234/webhooks/ittybit`. */
  url: string;
  close(): Promise<void>;
}

/** The path every adapter is mounted at. */
export const WEBHOOK_PATH = '/webhooks/ittybit';

/** Listens on an ephemeral port of 127.0.0.1; `close` also drops idle and open sockets. */
export async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    close: () => closeServer(server),
  };
}

/** Closes a server, cutting connections still open (requests the suite left open on purpose). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The request body as a Web stream. Cancelling it (a handler refusing an oversized body) stops
 * reading and discards the rest without destroying the socket, so the answer still gets out;
 * `Readable.toWeb` would destroy the request and with it the connection.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once('end', () => {
        if (open) controller.close();
        open = false;
      });
      req.once('error', (error) => {
        if (open) controller.error(error);
        open = false;
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      open = false;
      req.removeAllListeners('data');
      req.resume();
    },
  });
}

/** A Web `Request` from a Node request: same method, headers and a streaming body. */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
    method,
    headers,
    ...(hasBody ? { body: bodyStream(req), duplex: 'half' } : {}),
  } as RequestInit);
}

/** Writes a Web `Response` to a Node response. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

/**
 * Serves a Web-standard handler `(Request, ctx?) => Promise<Response>` on a real port: the small
 * `node:http` -> `Request` bridge that Hono's node server or Next.js would otherwise be. With
 * `readBodyFirst` the body is read (as another body parser would) before the handler sees it.
 */
export function serveWebHandler(
  handler: (request: Request) => Promise<Response>,
  { path = WEBHOOK_PATH, readBodyFirst = false } = {},
): Promise<Running> {
  const server = createServer(async (req, res) => {
    try {
      if ((req.url ?? '').split('?')[0] !== path) {
        res.writeHead(404).end();
        return;
      }
      const request = toWebRequest(req);
      if (readBodyFirst) await request.text();
      await writeWebResponse(await handler(request), res);
    } catch (error) {
      res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`bridge: handler threw: ${String(error)}`);
    }
  });
  return listen(server);
}
