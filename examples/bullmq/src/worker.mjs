// The worker: the slow part (download, transcode bookkeeping, emails...) away from the request.
// Run as many as you like; BullMQ gives each job to one of them at a time.
import { Worker } from 'bullmq';
import { connect, QUEUE_NAME } from './queue.mjs';

const workMs = Number(process.env.WORK_MS ?? 1_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const connection = connect('worker');
const worker = new Worker(
  QUEUE_NAME,
  async (job) => {
    // A task or a run, and the topic it came with (job.name).
    const payload = job.data;
    // Stand-in for the real work: fetch payload.output.url, update the record metadata points to.
    await sleep(workMs);
    const record = Object.entries(payload.metadata ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    console.log(
      `[worker ${process.pid}] processed ${payload.id} (${job.name}) job ${job.id} ${record}`.trimEnd(),
    );
  },
  { connection, concurrency: Number(process.env.WORKER_CONCURRENCY ?? 4) },
);
worker.on('failed', (job, error) =>
  console.error(
    `[worker ${process.pid}] ${job?.id} failed (attempt ${job?.attemptsMade}): ${error.message}`,
  ),
);
worker.on('ready', () => console.log(`[worker ${process.pid}] ready on queue ${QUEUE_NAME}`));

async function shutdown() {
  // Finishes the jobs in hand, takes no new ones.
  await worker.close();
  connection.disconnect();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
