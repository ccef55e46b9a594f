// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
import { ittybitWebhook } from '@ittybit-webhooks/fastify';
import Fastify from 'fastify';

const secret = process.env.ITTYBIT_WEBHOOK_SECRET;
if (!secret) throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');

/** What you passed as `metadata` when you created the Ittybit job. */
type ExportMetadata = { exportId?: string };
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database: the export rows, found by the exportId that comes back in metadata.
const exportsById = new Map<string, ExportRecord>();

const app = Fastify({ logger: false });

// The plugin reads the exact body bytes itself, on its own path only: other routes still parse
// JSON. Every method on the path is answered (405 with Allow: POST for all but POST).
app.register(
  ittybitWebhook<ExportMetadata>(
    {
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
        exportsById.set(exportId, {
          status: 'failed',
          taskId: task.id,
          error: task.error?.message,
        });
        console.log(`export ${exportId} ${task.status}: ${task.error?.message} (task ${task.id})`);
      },
    },
    { path: '/webhooks/ittybit' },
  ),
);

app.get<{ Params: { id: string } }>('/exports/:id', async (request, reply) => {
  const record = exportsById.get(request.params.id);
  return record ?? reply.code(404).send({ error: 'no such export' });
});

const port = Number(process.env.PORT ?? 3000);
await app.listen({ port, host: '127.0.0.1' });
console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit`);
