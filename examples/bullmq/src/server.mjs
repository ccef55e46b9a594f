// The receiver: verify, deduplicate, enqueue, answer. The 200 goes out only once the job is
// stored in Redis, so an acknowledged delivery can no longer be lost; the slow work is the worker's.
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { Queue } from 'bullmq';
import express from 'express';
import { connect, KEEP_FINISHED_SECONDS, QUEUE_NAME } from './queue.mjs';

const connection = connect('receiver');
// An early connection error is retried by ioredis; without a listener it would crash the process.
connection.on('error', (error) => console.error(`[receiver] redis: ${error.message}`));
const queue = new Queue(QUEUE_NAME, {
  connection,
  defaultJobOptions: {
    // The worker's own failures are retried by BullMQ, not by Ittybit (it already has its 200).
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { age: KEEP_FINISHED_SECONDS },
    removeOnFail: { age: KEEP_FINISHED_SECONDS },
  },
});

const ENQUEUE_TIMEOUT_MS = Number(process.env.ENQUEUE_TIMEOUT_MS ?? 2_000);

/**
 * Enqueues a delivery once: the jobId is the event id (the same on every redelivery of an event;
 * a bare task without an envelope has its task id), and BullMQ ignores an add whose jobId already
 * exists. Bounded in time, so a Redis outage gives a 500 (and a retry from Ittybit) well within
 * the sender's ~5 s budget; an add that still lands after that is harmless, the retry's add is
 * dropped by the same jobId.
 */
async function enqueue(payload, ctx) {
  const jobId = ctx.event?.id ?? payload.id;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not take job ${jobId} within ${ENQUEUE_TIMEOUT_MS} ms`)),
      ENQUEUE_TIMEOUT_MS,
    );
  });
  // A task or a run: the worker gets what it needs, in plain JSON.
  const { id, object, status, kind, output, error, metadata } = payload;
  const data = { topic: ctx.topic, id, object, status, kind, output, error, metadata };
  try {
    const job = await Promise.race([queue.add(ctx.topic, data, { jobId }), timeout]);
    console.log(`[receiver] queued ${id} (${ctx.topic}) as job ${job.id}`);
  } finally {
    clearTimeout(timer);
  }
}

const app = express();
app.post(
  '/webhooks/ittybit',
  ittybitWebhook({
    secret: process.env.ITTYBIT_WEBHOOK_SECRET,
    // If queue.add throws (Redis down), the receiver answers 500 and Ittybit retries later.
    onSucceeded: enqueue,
    onFailed: enqueue,
    // Runs (a group of tasks) go to the same queue, by topic.
    on: { 'run.succeeded': enqueue, 'run.failed': enqueue },
  }),
);
app.get('/healthz', (_req, res) => res.send('ok'));

const host = process.env.HOST ?? '127.0.0.1';
const server = app.listen(Number(process.env.PORT ?? 3000), host, (error) => {
  if (error) throw error;
  console.log(
    `[receiver] listening on http://${host}:${server.address().port}/webhooks/ittybit (queue ${QUEUE_NAME})`,
  );
});

async function shutdown() {
  // Stop taking requests, let the ones in flight finish; do not hang on a Redis that is gone.
  setTimeout(() => process.exit(0), 3_000).unref();
  await new Promise((resolve) => server.close(resolve));
  await queue.close();
  connection.disconnect();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
