// POST /webhooks/ittybit: npm run build:app && ITTYBIT_WEBHOOK_SECRET=whsec_test npm start
import { ittybitWebhook, type WebhookHandler } from '@ittybit-webhooks/web';
import { type ExportMetadata, exportsById } from '../../../lib/exports';

function createHandler(): WebhookHandler {
  return ittybitWebhook<ExportMetadata>({
    secret: process.env.ITTYBIT_WEBHOOK_SECRET,
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

let handler: WebhookHandler | undefined;

// Made on the first request rather than at import: `next build` imports this module to read its
// route config, and the secret is a run-time setting that the build need not have.
// The handler reads the untouched Request itself: never call request.json() before it.
export function POST(request: Request): Promise<Response> {
  handler ??= createHandler();
  return handler(request);
}
