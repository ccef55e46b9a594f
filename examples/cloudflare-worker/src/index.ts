// A Cloudflare Worker that receives Ittybit webhooks. Locally: npm run build:app && npm start
// (workerd from npm); deployed: wrangler deploy, with `wrangler secret put ITTYBIT_WEBHOOK_SECRET`.
import { ittybitWebhook, type WebhookHandler } from '@ittybit-webhooks/web';

interface Env {
  ITTYBIT_WEBHOOK_SECRET: string;
}

/** The part of the Workers `ExecutionContext` used here (or take it from @cloudflare/workers-types). */
interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** What you passed as `metadata` when you created the Ittybit job. */
type ExportMetadata = { exportId?: string };
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database (D1, KV, a Durable Object): it lives only as long as this isolate,
// and so does the default in-memory duplicate check.
const exportsById = new Map<string, ExportRecord>();

function createHandler(env: Env): WebhookHandler {
  return ittybitWebhook<ExportMetadata>({
    secret: env.ITTYBIT_WEBHOOK_SECRET,
    onSucceeded: (task) => {
      const { exportId } = task.metadata;
      if (!exportId) return console.warn(`task ${task.id}: no exportId in metadata, ignored`);
      exportsById.set(exportId, { status: 'ready', taskId: task.id, url: task.output?.url });
      console.log(`export ${exportId} ready: ${task.output?.url} (task ${task.id})`);
    },
    // Also gets cancelled tasks (there is no onCancelled here).
    onFailed: (task) => {
      const { exportId } = task.metadata;
      if (!exportId) return console.warn(`task ${task.id}: no exportId in metadata, ignored`);
      exportsById.set(exportId, { status: 'failed', taskId: task.id, error: task.error?.message });
      console.log(`export ${exportId} ${task.status}: ${task.error?.message} (task ${task.id})`);
    },
  });
}

// Made on the first request: a Worker gets its secrets (env) with each request, not at start-up.
let handler: WebhookHandler | undefined;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/webhooks/ittybit') {
      handler ??= createHandler(env);
      // ctx keeps the Worker alive for background work (respond: 'immediately').
      return handler(request, ctx);
    }
    const exportId = pathname.match(/^\/exports\/([^/]+)$/)?.[1];
    if (request.method === 'GET' && exportId) {
      const record = exportsById.get(decodeURIComponent(exportId));
      return record
        ? Response.json(record)
        : Response.json({ error: 'no such export' }, { status: 404 });
    }
    return new Response('Not found', { status: 404 });
  },
};
