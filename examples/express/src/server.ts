// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
import { ittybitWebhook } from '@ittybit-webhooks/express';
import express from 'express';

const secret = process.env.ITTYBIT_WEBHOOK_SECRET;
if (!secret) throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');

/** What you passed as `metadata` when you created the Ittybit task or run. */
type ExportMetadata = { exportId?: string };
/** An export is one task (a video) or one run (a video and its thumbnail, say). */
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'ready'; runId: string; urls: string[] }
  | { status: 'failed'; taskId?: string; runId?: string; error?: string }
  | { status: 'processing'; taskId: string; progress?: number };

// Stands in for your database: the export rows, found by the exportId that comes back in metadata.
const exportsById = new Map<string, ExportRecord>();

/** The output URLs of a run's tasks, as the sender lists them. */
function outputUrls(tasks: readonly Record<string, unknown>[] = []): string[] {
  return tasks.flatMap((task) => {
    const url = (task.output as { url?: unknown } | undefined)?.url;
    return typeof url === 'string' ? [url] : [];
  });
}

const app = express();

// Mount the webhook before express.json(): the signature covers the exact body bytes.
app.post(
  '/webhooks/ittybit',
  ittybitWebhook<ExportMetadata>({
    secret,
    // Finished tasks (the task.succeeded and task.failed topics, or a per-task webhook_url).
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
    // Every other topic by name, each handler's payload typed by its topic.
    on: {
      // Progress. Each task.updated event runs once, even when two of them say the same thing.
      'task.updated': (task, ctx) => {
        const { exportId } = task.metadata;
        // An update saying the task finished: its own task.succeeded / task.failed event handles it.
        if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'cancelled')
          return;
        // Events can arrive out of order: a late update must not undo a finished export.
        const current = exportId ? exportsById.get(exportId) : undefined;
        if (!exportId || (current && current.status !== 'processing')) return;
        exportsById.set(exportId, {
          status: 'processing',
          taskId: task.id,
          progress: task.progress,
        });
        console.log(`export ${exportId} ${task.status} ${task.progress ?? 0}% (${ctx.event?.id})`);
      },
      // A run finishes when all its tasks do: the export is every file the run made.
      'run.succeeded': (run) => {
        const { exportId } = run.metadata;
        if (!exportId) return console.warn(`run ${run.id}: no exportId in metadata, ignored`);
        const urls = outputUrls(run.tasks);
        exportsById.set(exportId, { status: 'ready', runId: run.id, urls });
        console.log(`export ${exportId} ready: ${urls.length} files (run ${run.id})`);
      },
      'run.failed': (run) => {
        const { exportId } = run.metadata;
        if (!exportId) return console.warn(`run ${run.id}: no exportId in metadata, ignored`);
        exportsById.set(exportId, { status: 'failed', runId: run.id, error: run.error?.message });
        console.log(`export ${exportId} failed: ${run.error?.message} (run ${run.id})`);
      },
    },
  }),
);

app.use(express.json()); // the rest of your API
app.get('/exports/:id', (req, res) => {
  const record = exportsById.get(req.params.id);
  if (record) res.json(record);
  else res.status(404).json({ error: 'no such export' });
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit`);
});
