// The Lambda function. Deploy `handler` behind a Function URL (auth type NONE), an API Gateway
// route or a load balancer, with ITTYBIT_WEBHOOK_SECRET in its environment.
import { ittybitWebhook } from '@ittybit-webhooks/lambda';
import { type ExportMetadata, exportsById } from './exports.js';

// Created once per execution environment, outside the handler: a missing secret fails the
// function's init with a message saying what to set.
export const handler = ittybitWebhook<ExportMetadata>({
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
