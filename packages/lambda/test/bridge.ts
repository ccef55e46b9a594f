// The Lambda handler behind a real HTTP port, the way AWS puts it behind API Gateway, a Function
// URL or a load balancer: the front reads the whole request, turns it into the event of its kind,
// invokes the function (here through lambda-local) and turns the result back into an HTTP answer.
// Each kind is an adapter for the shared conformance cases.
import { createServer } from 'node:http';
import { ittybitWebhook } from '@ittybit-webhooks/lambda';
import { listen } from '@ittybit-webhooks/test-helpers';
import lambdaLocal from 'lambda-local';
import type { AdapterUnderTest } from '../../conformance/src/adapters.js';
import { WEBHOOK_PATH } from '../../conformance/src/servers.js';
import { eventFor, type HttpRequest, isEventOf, type Kind, seen } from './events.js';

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript)|[^;]*\+(json|xml))/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the front hands the body base64-encoded. The REST API is set up with the binary media
 * type `*\/*` (every body base64); HTTP APIs, Function URLs and load balancers send text for
 * textual content types and base64 for the rest, and for bytes that are not UTF-8 (which a text
 * field cannot carry).
 */
function base64For(kind: Kind, contentType: string | undefined, body: Uint8Array): boolean {
  if (kind === 'rest') return true;
  return !(contentType && TEXT_TYPES.test(contentType) && validUtf8(body));
}

/** Serves `handler` on 127.0.0.1 behind the front of `kind`. */
async function serve(kind: Kind, handler: ReturnType<typeof ittybitWebhook>) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A request that never completes is never forwarded to the function.
    req.on('end', async () => {
      try {
        const body = new Uint8Array(Buffer.concat(chunks));
        const headers: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        }
        const request: HttpRequest = {
          method: req.method ?? 'GET',
          path: (req.url ?? '/').split('?')[0],
          headers,
          ...(body.length > 0 || req.method === 'POST'
            ? { body, base64: base64For(kind, req.headers['content-type'], body) }
            : {}),
        };
        const result = await lambdaLocal.execute({
          event: eventFor(kind, request) as unknown as Record<string, unknown>,
          lambdaFunc: { handler },
          lambdaHandler: 'handler',
          timeoutMs: 10_000,
          verboseLevel: -1,
        });
        // Fails (599 below) unless the result has the shape this front reads.
        const answer = seen(kind, result);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } catch (error) {
        res.writeHead(599, { 'content-type': 'text/plain' });
        res.end(`bridge: ${String(error)}`);
      }
    });
  });
  const running = await listen(server);
  return { url: `${running.url}${WEBHOOK_PATH}`, close: running.close };
}

/**
 * One conformance row per kind of AWS front. Every method and path reaches the function (a
 * Function URL, an `ANY /{proxy+}` route, a load balancer rule), so it is mounted with `path`.
 */
export function lambdaAdapters(kinds: Kind[]): AdapterUnderTest[] {
  return kinds.map((kind) => ({
    name: `lambda (${kind}, path)`,
    tags: [`lambda ${kind}`, 'lambda path', 'path', 'lambda'],
    start: (input) => serve(kind, ittybitWebhook(input, { path: WEBHOOK_PATH })),
    isNativeRequest: (request) => isEventOf(kind, request),
  }));
}
