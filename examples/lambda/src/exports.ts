/** What you passed as `metadata` when you created the Ittybit job. */
export type ExportMetadata = { exportId?: string };

export type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database (DynamoDB, RDS...): the export rows, found by the exportId that comes
// back in metadata. In memory it lasts as long as one execution environment.
export const exportsById = new Map<string, ExportRecord>();
