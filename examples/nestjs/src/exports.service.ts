import type { CancelledTask, FailedTask, SucceededTask } from '@ittybit-webhooks/nestjs';
import { Injectable, Logger } from '@nestjs/common';

/** What you passed as `metadata` when you created the Ittybit job. */
export type ExportMetadata = { exportId?: string };

export type ExportRecord =
  | { status: 'pending' }
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

/** Your export rows. The map stands in for your database. */
@Injectable()
export class ExportsService {
  private readonly logger = new Logger('Exports');
  private readonly byId = new Map<string, ExportRecord>();

  create(id: string): ExportRecord {
    const record: ExportRecord = { status: 'pending' };
    this.byId.set(id, record);
    return record;
  }

  find(id: string): ExportRecord | undefined {
    return this.byId.get(id);
  }

  markReady(task: SucceededTask<ExportMetadata>): void {
    const { exportId } = task.metadata;
    if (!exportId) {
      this.logger.warn(`task ${task.id}: no exportId in metadata, ignored`);
      return;
    }
    this.byId.set(exportId, { status: 'ready', taskId: task.id, url: task.output?.url });
    this.logger.log(`export ${exportId} ready: ${task.output?.url} (task ${task.id})`);
  }

  markFailed(task: FailedTask<ExportMetadata> | CancelledTask<ExportMetadata>): void {
    const { exportId } = task.metadata;
    if (!exportId) {
      this.logger.warn(`task ${task.id}: no exportId in metadata, ignored`);
      return;
    }
    this.byId.set(exportId, { status: 'failed', taskId: task.id, error: task.error?.message });
    this.logger.log(`export ${exportId} ${task.status}: ${task.error?.message} (task ${task.id})`);
  }
}
