// Type-level tests: `npm run typecheck` checks the expectTypeOf assertions and @ts-expect-error lines.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CancelledTask,
  createReceiver,
  type FailedTask,
  type HandlerContext,
  type Payload,
  type Run,
  type SucceededTask,
  type Task,
  type TaskOutput,
  type TaskUpdate,
} from '../src/index.js';

interface ExportMeta {
  exportId: string;
}

describe('public types', () => {
  it('carries the metadata generic into every handler', () => {
    createReceiver<ExportMeta>({
      secret: 's',
      onSucceeded: (task, ctx) => {
        expectTypeOf(task).toEqualTypeOf<SucceededTask<ExportMeta>>();
        expectTypeOf(task.metadata.exportId).toBeString();
        expectTypeOf(task.output).toEqualTypeOf<TaskOutput | undefined>();
        expectTypeOf(task.outputs).toEqualTypeOf<TaskOutput[]>();
        expectTypeOf(ctx).toEqualTypeOf<HandlerContext<unknown>>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        // @ts-expect-error: metadata is typed, unknown keys are errors
        task.metadata.nope;
      },
      onFailed: (task) => {
        expectTypeOf(task).toEqualTypeOf<FailedTask<ExportMeta> | CancelledTask<ExportMeta>>();
        if (task.status === 'failed') expectTypeOf(task.error.message).toBeString();
      },
      // task.created / task.updated events may carry any status.
      onUpdate: (task) => {
        expectTypeOf(task).toEqualTypeOf<Task<ExportMeta>>();
      },
    });
  });

  it('narrows each topic handler to what its topic carries', () => {
    createReceiver<ExportMeta>({
      secret: 's',
      on: {
        'run.succeeded': (run, ctx) => {
          expectTypeOf(run).toEqualTypeOf<Run<ExportMeta>>();
          expectTypeOf(run.object).toEqualTypeOf<'run'>();
          expectTypeOf(ctx.topic).toEqualTypeOf<string | undefined>();
          // @ts-expect-error: a run has no outputs
          run.outputs;
        },
        'run.failed': (run) => {
          expectTypeOf(run).toEqualTypeOf<Run<ExportMeta>>();
        },
        'task.succeeded': (task) => {
          expectTypeOf(task).toEqualTypeOf<SucceededTask<ExportMeta>>();
        },
        'task.failed': (task) => {
          expectTypeOf(task).toEqualTypeOf<FailedTask<ExportMeta> | CancelledTask<ExportMeta>>();
        },
        'task.updated': (task) => {
          expectTypeOf(task).toEqualTypeOf<Task<ExportMeta>>();
        },
      },
      onUnknown: (payload, ctx) => {
        expectTypeOf(payload.raw).toEqualTypeOf<Readonly<Record<string, unknown>>>();
        expectTypeOf(ctx.event?.id).toEqualTypeOf<string | undefined>();
      },
    });
    expectTypeOf(
      createReceiver<ExportMeta>({ secret: 's', onSucceeded() {}, onFailed() {} }).verify,
    ).returns.resolves.toEqualTypeOf<Payload<ExportMeta>>();
  });

  it('narrows a task on status', () => {
    const narrow = (task: Task) => {
      if (task.status === 'succeeded') {
        expectTypeOf(task).toEqualTypeOf<SucceededTask>();
        // @ts-expect-error: a succeeded task has no error field
        task.error;
      } else if (task.status === 'failed') {
        expectTypeOf(task).toEqualTypeOf<FailedTask>();
      } else if (task.status === 'cancelled') {
        expectTypeOf(task).toEqualTypeOf<CancelledTask>();
      } else {
        expectTypeOf(task).toEqualTypeOf<TaskUpdate>();
        expectTypeOf(task.status).toEqualTypeOf<
          'queued' | 'pending' | 'waiting' | 'processing' | 'unknown'
        >();
      }
    };
    expectTypeOf(narrow).toBeFunction();
  });

  it('requires the secret and known topics', () => {
    expectTypeOf(() =>
      // @ts-expect-error: not a topic Ittybit sends
      createReceiver({ secret: 's', on: { 'task.done': () => {} } }),
    ).toBeFunction();
    // @ts-expect-error: secret is required
    expectTypeOf(() => createReceiver({ onSucceeded() {}, onFailed() {} })).toBeFunction();
    expectTypeOf(() =>
      // @ts-expect-error: respond takes two values only
      createReceiver({ secret: 's', onSucceeded() {}, onFailed() {}, respond: 'later' }),
    ).toBeFunction();
  });
});
