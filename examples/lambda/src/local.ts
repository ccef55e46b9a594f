// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
//
// The function on your machine, behind a local stand-in for its Function URL: each request
// becomes the event a Function URL sends (payload format 2.0, the body base64-encoded unless it
// is UTF-8 text) and the function is invoked with lambda-local, which gives it a Lambda context
// and a timeout as the Lambda runtime does. Its result becomes the HTTP answer.
import { createServer, type IncomingMessage } from 'node:http';
import type { LambdaHttpResult } from '@ittybit-webhooks/lambda';
import lambdaLocal from 'lambda-local';

if (!process.env.ITTYBIT_WEBHOOK_SECRET) {
  throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');
}
// Imported once: this process is one warm execution environment.
const functionModule = await import('./handler.js');
const { exportsById } = await import('./exports.js');

const TEXT = /^(text\/|application\/(json|xml|javascript)|[^;]*\+(json|xml))/i;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as a Function URL puts it in the event. */
function eventBody(bytes: Buffer, contentType: string | undefined) {
  if (bytes.length === 0) return {};
  if (contentType && TEXT.test(contentType)) {
    try {
      return { body: utf8.decode(bytes), isBase64Encoded: false };
    } catch {
      // Not UTF-8: sent base64, as below.
    }
  }
  return { body: bytes.toString('base64'), isBase64Encoded: true };
}

/** The Function URL event for a request (the fields AWS documents). */
function functionUrlEvent(req: IncomingMessage, bytes: Buffer) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...eventBody(bytes, req.headers['content-type']),
  };
}

const port = Number(process.env.PORT ?? 3000);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    // Not part of the function: reads the records it wrote, as your app would from its database.
    const record = /^\/exports\/([^/]+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && record) {
      const found = exportsById.get(decodeURIComponent(record[1]!));
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(found ?? { error: 'no such export' }));
      return;
    }
    try {
      const result = (await lambdaLocal.execute({
        event: functionUrlEvent(req, Buffer.concat(chunks)),
        lambdaFunc: functionModule,
        lambdaHandler: 'handler',
        timeoutMs: 10_000,
        verboseLevel: -1, // only what the function prints
      })) as LambdaHttpResult;
      res.writeHead(result.statusCode, result.headers);
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    } catch (error) {
      // What a Function URL answers when the invocation fails (an init error, a timeout).
      console.error('invocation failed:', error);
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"message":"Internal Server Error"}');
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`Function URL (local): http://127.0.0.1:${port}/webhooks/ittybit`);
});
