// POST /webhooks/ittybit: npm run build:app && ITTYBIT_WEBHOOK_SECRET=whsec_test npm start
import { ittybitWebhook } from '@ittybit-webhooks/web';
import { type ExportMetadata, exportsById } from '../../../lib/exports';

// The handler reads the untouched Request itself: never call request.json() before it. The
// receiver is made on the first request, so `next build` works without the secret.
export const POST = ittybitWebhook<ExportMetadata>({
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
