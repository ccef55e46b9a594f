// Type-level tests: `npm run typecheck` checks the expectTypeOf assertions and @ts-expect-error lines.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CancelledTask,
  createReceiver,
  type FailedTask,
  type HandlerContext,
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
      onUpdate: (task) => {
        expectTypeOf(task).toEqualTypeOf<TaskUpdate<ExportMeta>>();
      },
    });
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

  it('requires the secret and both handlers', () => {
    // @ts-expect-error: onFailed is required
    expectTypeOf(() => createReceiver({ secret: 's', onSucceeded() {} })).toBeFunction();
    // @ts-expect-error: secret is required
    expectTypeOf(() => createReceiver({ onSucceeded() {}, onFailed() {} })).toBeFunction();
    expectTypeOf(() =>
      // @ts-expect-error: respond takes two values only
      createReceiver({ secret: 's', onSucceeded() {}, onFailed() {}, respond: 'later' }),
    ).toBeFunction();
  });
});
