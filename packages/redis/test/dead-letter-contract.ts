// What every dead-letter sink does (RedisDeadLetters here, PostgresDeadLetters in
// packages/postgres): exact bytes and headers kept, attempts counted per key with the first
// failure's time kept, listed newest first with a limit, cleared. And through a real receiver:
// a failing handler keeps the delivery, a later success clears it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeadLetterSink, FailedDelivery, IdempotencyStore } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A fresh, empty sink (its own prefix or table) and how to close its client. */
export type SinkFactory = () => Promise<{
  sink: DeadLetterSink;
  store?: IdempotencyStore;
  close: () => Promise<void>;
}>;

/** Bytes that are not UTF-8 text (a NUL, 0xff, a lone continuation byte) around some JSON. */
const ODD_BYTES = Uint8Array.from([0x00, 0xff, 0x80, 0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x7d, 0x0a]);

function failed(key: string, failedAt: number, more: Partial<FailedDelivery> = {}): FailedDelivery {
  return {
    key,
    body: new TextEncoder().encode(`{"id":"${key}"}`),
    headers: { 'content-type': 'application/json', 'ittybit-signature': 'ab'.repeat(32) },
    topic: 'task.succeeded',
    eventId: key,
    id: `task_${key}`,
    error: 'Error: database unavailable',
    failedAt,
    ...more,
  };
}

export function describeDeadLetterSink(name: string, factory: SinkFactory): void {
  describe(`${name}: the dead-letter sink contract`, () => {
    let sink: DeadLetterSink;
    let close: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      ({ sink, close } = await factory());
    });
    afterAll(async () => close?.());

    it('nothing kept yet: get is undefined, list is empty', async () => {
      expect(await sink.get('evt_none')).toBeUndefined();
      expect(await sink.list()).toEqual([]);
    });

    it('keeps the exact bytes, headers, ids and error of a failed delivery', async () => {
      await sink.put(failed('evt_exact', 1_700_000_000_123, { body: ODD_BYTES }));
      const letter = await sink.get('evt_exact');
      expect(letter).toEqual({
        key: 'evt_exact',
        body: ODD_BYTES,
        headers: { 'content-type': 'application/json', 'ittybit-signature': 'ab'.repeat(32) },
        topic: 'task.succeeded',
        eventId: 'evt_exact',
        id: 'task_evt_exact',
        error: 'Error: database unavailable',
        attempts: 1,
        firstFailedAt: 1_700_000_000_123,
        lastFailedAt: 1_700_000_000_123,
      });
      expect(letter?.body).toBeInstanceOf(Uint8Array);
    });

    it('a megabyte of random bytes comes back byte for byte', async () => {
      const body = new Uint8Array(1024 * 1024);
      for (let i = 0; i < body.length; i += 65_536) {
        crypto.getRandomValues(body.subarray(i, i + 65_536));
      }
      await sink.put(failed('evt_large', 1_700_000_000_000, { body }));
      const back = (await sink.get('evt_large'))?.body;
      expect(back?.length).toBe(body.length);
      expect(Buffer.compare(Buffer.from(back!), Buffer.from(body))).toBe(0);
      await sink.clear('evt_large');
    });

    it('optional fields left out stay out', async () => {
      await sink.put({
        key: 'task_bare:failed',
        body: new Uint8Array([0x7b, 0x7d]),
        headers: {},
        error: 'TypeError: x is undefined',
        failedAt: 1_700_000_000_500,
      });
      const letter = await sink.get('task_bare:failed');
      expect(letter).toEqual({
        key: 'task_bare:failed',
        body: new Uint8Array([0x7b, 0x7d]),
        headers: {},
        error: 'TypeError: x is undefined',
        attempts: 1,
        firstFailedAt: 1_700_000_000_500,
        lastFailedAt: 1_700_000_000_500,
      });
    });

    it('another failure of the same key: attempts counted, the first time kept, the rest the latest', async () => {
      await sink.put(failed('evt_again', 1_700_000_001_000));
      await sink.put(
        failed('evt_again', 1_700_000_002_000, { error: 'Error: timeout', topic: 'task.failed' }),
      );
      await sink.put(failed('evt_again', 1_700_000_003_000, { error: 'Error: still down' }));
      expect(await sink.get('evt_again')).toMatchObject({
        attempts: 3,
        firstFailedAt: 1_700_000_001_000,
        lastFailedAt: 1_700_000_003_000,
        error: 'Error: still down',
        topic: 'task.succeeded',
      });
    });

    it('lists the most recently failed first, up to the limit (default 100)', async () => {
      for (const key of ['evt_exact', 'task_bare:failed', 'evt_again']) await sink.clear(key);
      await sink.put(failed('evt_l1', 1_700_000_010_000));
      await sink.put(failed('evt_l2', 1_700_000_020_000));
      await sink.put(failed('evt_l3', 1_700_000_030_000));
      expect((await sink.list()).map((l) => l.key)).toEqual(['evt_l3', 'evt_l2', 'evt_l1']);
      expect((await sink.list({ limit: 2 })).map((l) => l.key)).toEqual(['evt_l3', 'evt_l2']);
      expect(await sink.list({ limit: 0 })).toEqual([]);
      // evt_l1 fails again: now the most recent.
      await sink.put(failed('evt_l1', 1_700_000_040_000));
      const [first] = await sink.list({ limit: 1 });
      expect(first).toMatchObject({ key: 'evt_l1', attempts: 2 });
      expect(first?.body).toEqual(new TextEncoder().encode('{"id":"evt_l1"}'));
    });

    it('clear forgets a key (and a key never kept is no error)', async () => {
      await sink.clear('evt_l2');
      await sink.clear('evt_never_kept');
      expect(await sink.get('evt_l2')).toBeUndefined();
      expect((await sink.list()).map((l) => l.key)).toEqual(['evt_l1', 'evt_l3']);
      // Kept again after a clear: a new letter, attempts from 1.
      await sink.put(failed('evt_l2', 1_700_000_050_000));
      expect(await sink.get('evt_l2')).toMatchObject({
        attempts: 1,
        firstFailedAt: 1_700_000_050_000,
      });
    });

    it('keys with odd characters (colons, spaces, braces, quotes, non-ASCII)', async () => {
      for (const key of ['task_1:succeeded', 'a b', '{tag}x', 'it\'s "x"', 'évt_ü_中']) {
        await sink.put(failed(key, 1_700_000_060_000));
        expect((await sink.get(key))?.key).toBe(key);
        await sink.clear(key);
        expect(await sink.get(key)).toBeUndefined();
      }
    });
  });

  describe(`${name}: through a real receiver`, () => {
    const SECRET = 'whsec_dead_letters';
    let sink: DeadLetterSink;
    let close: (() => Promise<void>) | undefined;
    let server: http.Server;
    let url = '';
    let failing = true;
    let handled = 0;

    beforeAll(async () => {
      const made = await factory();
      sink = made.sink;
      close = made.close;
      const middleware = ittybitWebhook({
        secret: SECRET,
        logger: false,
        deadLetters: sink,
        ...(made.store ? { idempotency: { store: made.store } } : {}),
        onSucceeded: async () => {
          if (failing) throw new Error('database unavailable');
          handled += 1;
        },
        onFailed: () => {},
      });
      server = http.createServer((req, res) => void middleware(req as never, res as never));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/ittybit`;
    });
    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
      await close?.();
    });

    it('a failing handler keeps the delivery (exact bytes, the sender signature); a later success clears it', async () => {
      const event = createTestEvent('task.succeeded', { id: 'task_dl_1' });
      // Not the JSON.stringify spacing: the kept bytes must be the ones sent, not re-serialised.
      const body = JSON.stringify(event, null, 2);
      const { headers } = await createTestDelivery(body, SECRET);
      const send = () => fetch(url, { method: 'POST', body, headers }).then((r) => r.status);

      const before = Date.now();
      expect(await send()).toBe(500);
      const kept = await sink.get(event.id);
      expect(kept).toMatchObject({
        key: event.id,
        headers: {
          'content-type': 'application/json',
          'ittybit-signature': headers['ittybit-signature'],
        },
        topic: 'task.succeeded',
        eventId: event.id,
        id: 'task_dl_1',
        error: 'Error: database unavailable',
        attempts: 1,
      });
      expect(new TextDecoder().decode(kept!.body)).toBe(body);
      expect(kept!.firstFailedAt).toBeGreaterThanOrEqual(before);

      expect(await send()).toBe(500);
      expect(await sink.get(event.id)).toMatchObject({
        attempts: 2,
        firstFailedAt: kept!.firstFailedAt,
      });
      expect((await sink.list()).map((l) => l.key)).toContain(event.id);

      failing = false;
      expect(await send()).toBe(200);
      expect(handled).toBe(1);
      expect(await sink.get(event.id)).toBeUndefined();
      expect((await sink.list()).map((l) => l.key)).not.toContain(event.id);
    });

    it('a refused delivery (wrong signature) is never kept', async () => {
      failing = true;
      const event = createTestEvent('task.succeeded');
      const res = await fetch(url, {
        method: 'POST',
        body: JSON.stringify(event),
        headers: { 'content-type': 'application/json', 'ittybit-signature': '00'.repeat(32) },
      });
      expect(res.status).toBe(401);
      expect(await sink.get(event.id)).toBeUndefined();
    });
  });
}
