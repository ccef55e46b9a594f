import { IttybitWebhookModule } from '@ittybit-webhooks/nestjs';
import { Module } from '@nestjs/common';
import { ExportsModule } from './exports.module';
import { type ExportMetadata, ExportsService } from './exports.service';

@Module({
  imports: [
    ExportsModule,
    // POST /webhooks/ittybit: the handlers use ExportsService, injected like anywhere in Nest.
    IttybitWebhookModule.forRootAsync<ExportMetadata>({
      imports: [ExportsModule],
      inject: [ExportsService],
      useFactory: (exports: ExportsService) => ({
        secret: process.env.ITTYBIT_WEBHOOK_SECRET,
        onSucceeded: (task) => exports.markReady(task),
        // Also gets cancelled tasks (there is no onCancelled here).
        onFailed: (task) => exports.markFailed(task),
      }),
    }),
  ],
})
export class AppModule {}
