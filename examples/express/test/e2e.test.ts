import { expect, it } from 'vitest';
import { count, eventually, exampleSuite, send } from '../../e2e';

// Boots `npm start` (as the README says) and drives it with `npx @ittybit-webhooks/cli`'s bin.
// app.post() mounts the webhook for POST only, so a GET gets Express's own 404.
exampleSuite({
  name: 'express',
  get: { status: 404 },
  more: ({ url, logs, record, exportId }) => {
    it('run.succeeded: on[run.succeeded] records every file of the run', async () => {
      const id = exportId('run');
      const { code, report } = await send(
        url(),
        ...['--topic', 'run.succeeded', '--metadata', `exportId=${id}`],
      );
      expect(code).toBe(0);
      expect(report.topic).toBe('run.succeeded');
      const { body } = await record(id);
      expect(body).toMatchObject({ status: 'ready', runId: report.taskId });
      expect(body.urls).toEqual([
        expect.stringMatching(/^https:/),
        expect.stringMatching(/^https:/),
      ]);
      await eventually(() => expect(logs()).toContain(`export ${id} ready: 2 files (run `));
      // A run never reaches onSucceeded, which logs "ready: <url> (task ...)".
      expect(logs()).not.toContain(`export ${id} ready: https`);
    });

    it('run.failed: on[run.failed] marks the export failed with the reason', async () => {
      const id = exportId('runfail');
      const { code, report } = await send(
        url(),
        ...['--topic', 'run.failed', '--metadata', `exportId=${id}`],
      );
      expect(code).toBe(0);
      expect(await record(id)).toMatchObject({
        status: 200,
        body: { status: 'failed', runId: report.taskId, error: expect.any(String) },
      });
    });

    it('task.updated: two events of one task both run; a redelivered event runs once', async () => {
      const id = exportId('progress');
      const task = `task_progress_${id}`;
      const first = await send(
        url(),
        ...['--topic', 'task.updated', '--id', task, '--metadata', `exportId=${id}`],
      );
      const second = await send(
        url(),
        ...['--topic', 'task.updated', '--id', task, '--metadata', `exportId=${id}`],
      );
      expect(first.report.eventId).not.toBe(second.report.eventId);
      const again = await send(
        url(),
        ...['--topic', 'task.updated', '--id', task, '--metadata', `exportId=${id}`],
        ...['--event-id', second.report.eventId!],
      );
      expect(again.report.deliveries[0]).toMatchObject({ status: 200, duplicate: true });
      await eventually(() => {
        expect(count(logs(), `(${first.report.eventId})`)).toBe(1);
        expect(count(logs(), `export ${id} processing 50% (${second.report.eventId})`)).toBe(1);
      });
      expect(await record(id)).toMatchObject({ body: { status: 'processing', taskId: task } });
    });
  },
});
