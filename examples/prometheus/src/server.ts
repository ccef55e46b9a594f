// ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
import { MemoryDeadLetters } from '@ittybit-webhooks/core';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { otelTelemetry } from '@ittybit-webhooks/otel';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import express from 'express';

const secret = process.env.ITTYBIT_WEBHOOK_SECRET;
if (!secret) throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');

// Metrics: OpenTelemetry's SDK, read by its Prometheus exporter, served on this app's GET /metrics
// (preventServerStart: no second port). With @opentelemetry/sdk-node, pass the exporter as its
// metricReader instead.
const prometheus = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [prometheus] });
const meter = meterProvider.getMeter('webhooks');

// Deliveries whose handler failed, kept until a retry succeeds. In memory here (one process);
// RedisDeadLetters or PostgresDeadLetters keep them across restarts and for the CLI's replay.
const deadLetters = new MemoryDeadLetters();
meter
  .createObservableGauge('ittybit.webhook.dead_letters', {
    description: 'Deliveries whose handler failed and that no retry has handled yet.',
    unit: '{delivery}',
  })
  .addCallback((gauge) => gauge.observe(deadLetters.size));

/** What you passed as `metadata` when you created the Ittybit task. */
type ExportMetadata = { exportId?: string };
type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database. Export ids starting with exp_broken make the write fail, as a
// database that is down would: the handler throws, the receiver answers 500 and keeps a dead letter.
const exportsById = new Map<string, ExportRecord>();
function save(exportId: string, record: ExportRecord): void {
  if (exportId.startsWith('exp_broken')) throw new Error('database unavailable');
  exportsById.set(exportId, record);
}

const app = express();

app.post(
  '/webhooks/ittybit',
  ittybitWebhook<ExportMetadata>({
    secret,
    telemetry: otelTelemetry({ meter }),
    deadLetters,
    onSucceeded: (task) => {
      const { exportId } = task.metadata;
      if (!exportId) return console.warn(`task ${task.id}: no exportId in metadata, ignored`);
      save(exportId, { status: 'ready', taskId: task.id, url: task.output?.url });
      console.log(`export ${exportId} ready: ${task.output?.url} (task ${task.id})`);
    },
    onFailed: (task) => {
      const { exportId } = task.metadata;
      if (!exportId) return console.warn(`task ${task.id}: no exportId in metadata, ignored`);
      save(exportId, { status: 'failed', taskId: task.id, error: task.error?.message });
      console.log(`export ${exportId} ${task.status}: ${task.error?.message} (task ${task.id})`);
    },
  }),
);

// What Prometheus scrapes.
app.get('/metrics', (req, res) => prometheus.getMetricsRequestHandler(req, res));

app.use(express.json()); // the rest of your API
app.get('/exports/:id', (req, res) => {
  const record = exportsById.get(req.params.id);
  if (record) res.json(record);
  else res.status(404).json({ error: 'no such export' });
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit, metrics on /metrics`);
});
