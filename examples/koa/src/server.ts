// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
import { ittybitWebhook } from '@ittybit-webhooks/koa';
import Router from '@koa/router';
import Koa from 'koa';

const secret = process.env.ITTYBIT_WEBHOOK_SECRET;
if (!secret) throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');

/** What you passed as `metadata` when you created the Ittybit job. */
type ExportMetadata = { exportId?: string };
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database: the export rows, found by the exportId that comes back in metadata.
const exportsById = new Map<string, ExportRecord>();

const app = new Koa();
const router = new Router();

// No body parser on this route: the signature covers the exact body bytes.
router.post(
  '/webhooks/ittybit',
  ittybitWebhook<ExportMetadata>({
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
  }),
);

router.get('/exports/:id', (ctx) => {
  const record = exportsById.get(ctx.params.id ?? '');
  ctx.status = record ? 200 : 404;
  ctx.body = record ?? { error: 'no such export' };
});

// allowedMethods(): a GET to the webhook path gets the router's 405 with Allow: POST.
app.use(router.routes()).use(router.allowedMethods());

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit`);
});
