// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
import { serve } from '@hono/node-server';
import { ittybitWebhook } from '@ittybit-webhooks/web';
import { Hono } from 'hono';

const secret = process.env.ITTYBIT_WEBHOOK_SECRET;
if (!secret) throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');

/** What you passed as `metadata` when you created the Ittybit job. */
type ExportMetadata = { exportId?: string };
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database: the export rows, found by the exportId that comes back in metadata.
const exportsById = new Map<string, ExportRecord>();

const handler = ittybitWebhook<ExportMetadata>({
  secret,
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

const app = new Hono();

// Hand over the untouched Request: no validator or body-reading middleware on this route.
// app.all rather than app.post: other methods get the receiver's 405 with Allow: POST.
app.all('/webhooks/ittybit', (c) => handler(c.req.raw));

app.get('/exports/:id', (c) => {
  const record = exportsById.get(c.req.param('id'));
  return record ? c.json(record) : c.json({ error: 'no such export' }, 404);
});

const port = Number(process.env.PORT ?? 3000);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit`);
});
