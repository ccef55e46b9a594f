// Signed deliveries for the bench: `task.succeeded` event envelopes as Ittybit sends them, padded
// to an exact size with realistic metadata, each with its own event id and task id.
import { createHmac, randomBytes } from 'node:crypto';
import { createTestEvent } from '@ittybit-webhooks/core/testing';

export const SECRET = 'whsec_bench_0123456789abcdef';

// Same length as the ids that replace them, so every delivery of a pool has the same size.
const EVENT_ID = 'evt_PLACEHOLDER_EVENT_ID';
const TASK_ID = 'task_PLACEHOLDER_TASK_ID';
const TAG = randomBytes(3).toString('hex'); // this run's ids differ from an earlier run's

function idAt(prefix, width, i) {
  const body = `${TAG}${i.toString(36).padStart(width - prefix.length - TAG.length, '0')}`;
  return `${prefix}${body}`;
}

/** The body text of a `task.succeeded` event of exactly `bytes` bytes, with placeholder ids. */
export function eventTemplate(bytes) {
  const item = (i) => ({
    id: `item_${String(i).padStart(5, '0')}`,
    title: `Frame ${i} of the preview strip`,
    tags: ['preview', 'strip'],
    width: 320,
    height: 180,
    offset: i * 1.5,
  });
  const metadata = { exportId: 'exp_7f3a9c', items: [], note: '' };
  const event = createTestEvent('task.succeeded', { id: TASK_ID, metadata }, { id: EVENT_ID });
  let text = JSON.stringify(event);
  // Whole items while they fit with room to spare, then the note makes up the exact size.
  let room = bytes - text.length - 160;
  while (room > 0) {
    const next = item(metadata.items.length);
    room -= JSON.stringify(next).length + 1;
    if (room > 0) metadata.items.push(next);
  }
  text = JSON.stringify(event);
  if (text.length > bytes) throw new Error(`a delivery cannot be as small as ${bytes} bytes`);
  metadata.note = 'n'.repeat(bytes - text.length);
  text = JSON.stringify(event);
  if (Buffer.byteLength(text) !== bytes) throw new Error('template size is off');
  return text;
}

/** HMAC-SHA256 hex of `body` under `secret`: the `Ittybit-Signature` value. */
export function sign(body, secret = SECRET) {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * `count` distinct signed deliveries of `bytes` bytes: `{ bodies: Buffer[], signatures: string[],
 * eventIds: string[] }`.
 */
export function deliveryPool(count, bytes = 1024) {
  const template = eventTemplate(bytes);
  const bodies = new Array(count);
  const signatures = new Array(count);
  const eventIds = new Array(count);
  for (let i = 0; i < count; i++) {
    const eventId = idAt('evt_', EVENT_ID.length, i);
    const text = template
      .replaceAll(EVENT_ID, eventId)
      .replaceAll(TASK_ID, idAt('task_', TASK_ID.length, i));
    const body = Buffer.from(text);
    bodies[i] = body;
    signatures[i] = sign(body);
    eventIds[i] = eventId;
  }
  return { bodies, signatures, eventIds };
}

/** Request headers as Node gives them for a delivery (lowercase names). */
export function nodeHeaders(body, signature) {
  return {
    host: '127.0.0.1:3000',
    'user-agent': 'Ittybit-Webhooks/1.0',
    'content-type': 'application/json',
    'content-length': String(body.length),
    'ittybit-signature': signature,
    'accept-encoding': 'gzip',
    connection: 'keep-alive',
  };
}
