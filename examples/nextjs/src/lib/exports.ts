/** What you passed as `metadata` when you created the Ittybit job. */
export type ExportMetadata = { exportId?: string };

export type ExportRecord =
  | { status: 'ready'; taskId: string; url?: string }
  | { status: 'failed'; taskId: string; error?: string };

// Stands in for your database: the export rows, found by the exportId that comes back in metadata.
// Kept on globalThis so that every route (and dev-mode reloads) sees the same map.
const store = globalThis as typeof globalThis & { exportsById?: Map<string, ExportRecord> };
store.exportsById ??= new Map();
export const exportsById = store.exportsById;
