// GET /exports/:id: what the webhook recorded for an export.
import { exportsById } from '../../../lib/exports';

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const record = exportsById.get((await params).id);
  return record
    ? Response.json(record)
    : Response.json({ error: 'no such export' }, { status: 404 });
}
