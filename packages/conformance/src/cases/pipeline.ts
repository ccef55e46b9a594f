// What the idempotency pipeline answers through every adapter: a duplicate while the first still
// runs, a handler that throws, an unreachable store, and acknowledging before the handler runs.
import type { IdempotencyStore } from '@ittybit-webhooks/core';
import { createTestTask } from '@ittybit-webhooks/core/testing';
import { expect } from 'vitest';
import { ANSWERS, type Case } from '../case.js';
import { once, signed } from '../deliveries.js';
import { send } from '../http.js';
import { deferred, within } from '../recorder.js';

const refused = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
const rejectingStore: IdempotencyStore = {
  acquire: refused,
  complete: refused,
  release: refused,
  extend: refused,
};

export const pipelineCases: Case[] = [
  {
    name: 'concurrent duplicate (503 while the first runs)',
    send: async ({ url, rec }) => {
      const gate = deferred();
      const entered = deferred();
      rec.behaviour = async () => {
        entered.resolve();
        await gate.promise;
      };
      const request = await signed(createTestTask());
      const first = send(url, request);
      try {
        await within(
          Promise.race([
            entered.promise,
            first.then((a) => {
              throw new Error(`first delivery answered ${a.status} before its handler ran`);
            }),
          ]),
          3000,
          'the handler of the first delivery was not called within 3 s',
        );
        const second = await send(url, request);
        gate.resolve();
        return [await first, second];
      } finally {
        gate.resolve();
      }
    },
    expected: { answers: [ANSWERS.ok, ANSWERS.inProgress], calls: { onSucceeded: 1 } },
  },
  {
    name: 'handler throws, then the retry succeeds',
    send: async ({ url, rec }) => {
      rec.behaviour = () => {
        if (rec.calls.length === 1) throw new Error('boom: s3 credentials whsec_leak');
      };
      const request = await signed(createTestTask());
      return [await send(url, request), await send(url, request)];
    },
    expected: {
      answers: [ANSWERS.handlerFailed, ANSWERS.ok],
      calls: { onSucceeded: 2 },
      check: (env) => expect(env.rec.finished).toHaveLength(1),
    },
  },
  {
    name: 'store unreachable',
    options: () => ({ idempotency: { store: rejectingStore } }),
    send: ({ url }) => once(url, signed(createTestTask())),
    expected: { answers: [ANSWERS.storeUnavailable], calls: {} },
  },
  {
    name: "respond: 'immediately' (ready receiver)",
    options: () => ({ respond: 'immediately' }),
    readyReceiver: true,
    send: async ({ url, rec, receiver }) => {
      const gate = deferred();
      rec.behaviour = () => gate.promise;
      try {
        // The handler is still waiting on the gate: only an early answer can arrive.
        const answers = [await send(url, { ...(await signed(createTestTask())), timeoutMs: 3000 })];
        expect(rec.calls, 'handler started before the answer').toHaveLength(1);
        expect(rec.finished, 'handler still running when answered').toHaveLength(0);
        gate.resolve();
        await within(receiver!.drain(), 3000, 'receiver.drain() did not settle');
        expect(rec.finished).toHaveLength(1);
        return answers;
      } finally {
        gate.resolve();
      }
    },
    expected: { answers: [ANSWERS.ok], calls: { onSucceeded: 1 } },
  },
  {
    name: "respond: 'immediately', handler throws (200, onError told)",
    options: () => ({ respond: 'immediately' }),
    readyReceiver: true,
    send: async ({ url, rec, receiver }) => {
      rec.behaviour = () => {
        throw new Error('boom in the background');
      };
      const answers = [await send(url, await signed(createTestTask()))];
      await within(receiver!.drain(), 3000, 'receiver.drain() did not settle');
      return answers;
    },
    expected: {
      answers: [ANSWERS.ok],
      calls: { onSucceeded: 1 },
      check: (env) => expect(env.rec.errors.map((e) => e.phase)).toEqual(['handler']),
    },
  },
];
