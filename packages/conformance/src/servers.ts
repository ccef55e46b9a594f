import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type Running } from '@ittybit-webhooks/test-helpers';

/** The path every adapter is mounted at. */
export const WEBHOOK_PATH = '/webhooks/ittybit';

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
 * `node:http` -> `Request` bridge that a runtime (Next.js, Deno, Bun) would otherwise be. The
 * handler sees every path and method. With `readBodyFirst` the body is read (as another body
 * parser would) before the handler sees it. A method the Fetch standard forbids in a `Request`
 * (TRACE) cannot reach the handler: the bridge answers 501, as a runtime must answer something.
 */
export function serveWebHandler(
  handler: (request: Request) => Promise<Response>,
  { readBodyFirst = false } = {},
): Promise<Running> {
  return listen(
    createServer(async (req, res) => {
      let request: Request;
      try {
        request = toWebRequest(req);
      } catch {
        res.writeHead(501, { 'content-type': 'text/plain' }).end('bridge: not a Fetch Request');
        return;
      }
      try {
        if (readBodyFirst) await request.text();
        await writeWebResponse(await handler(request), res);
      } catch (error) {
        res.writeHead(599, { 'content-type': 'text/plain' });
        res.end(`bridge: handler threw: ${String(error)}`);
      }
    }),
  );
}
