import type { Receiver, ReceiverOptions } from '@ittybit-webhooks/core';
import { expect } from 'vitest';
import type { AdapterUnderTest, StartOptions } from './adapters.js';
import type { Answer } from './http.js';
import type { Call, HandlerName, Recorder } from './recorder.js';

/** What one case sees while it runs. */
export interface CaseEnv {
  /** The webhook's full URL. */
  url: string;
  rec: Recorder;
  /** The ready receiver handed to the adapter, for cases with `readyReceiver`. */
  receiver: Receiver | undefined;
  adapter: AdapterUnderTest;
  /** What the case sent, in order, for its checks (the sender-format objects). */
  sent: unknown[];
}

/**
 * One expected answer: status, body text (`null`: the framework's own, not compared), and
 * headers (`null`: must be absent). Headers not named are not compared.
 */
export interface Expected {
  status: number;
  body: string | null;
  headers: Record<string, string | null>;
}

/** What a case must produce: its answers in order and how often each handler ran. */
export interface Outcome {
  answers: Expected[];
  /** Handler calls by handler; handlers not named must not have run. */
  calls: Partial<Record<HandlerName, number>>;
  /** Further checks on the handler calls, log lines and outcomes. */
  check?: (env: CaseEnv) => void | Promise<void>;
  /** Why this row answers differently from the others (printed under the table). */
  note?: string;
}

/** One row of the suite: how to build the request(s) and what every adapter must answer. */
export interface Case {
  name: string;
  /** How the endpoint is served (default: as documented, nothing in front of it). */
  start?: StartOptions;
  /** Options on top of the recording ones (a handler per topic, logger, onError, onDelivery). */
  options?: (rec: Recorder) => Partial<ReceiverOptions<Record<string, unknown>, unknown>>;
  /** Hand the adapter a ready receiver from `createReceiver` instead of options. */
  readyReceiver?: boolean;
  send: (env: CaseEnv) => Promise<Answer[]>;
  expected: Outcome;
  /**
   * Documented exceptions, by an adapter's tag (`express route`, `route`, `koa`, ...: see
   * `AdapterUnderTest.tags`); the first of the adapter's tags found here wins.
   */
  expectedFor?: Partial<Record<string, Outcome>>;
}

const JSON_TYPE = 'application/json;charset=utf-8';

/** An answer of the receiver: JSON body, its content type, and `headers`. */
export const answer = (
  status: number,
  body: object,
  headers: Record<string, string | null> = {},
): Expected => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': JSON_TYPE, ...headers },
});

/** The answers of the table in docs/design.md. */
export const ANSWERS = {
  ok: answer(200, { received: true }, { 'ittybit-webhook-duplicate': null }),
  duplicate: answer(
    200,
    { received: true, duplicate: true },
    { 'ittybit-webhook-duplicate': 'true' },
  ),
  unauthorized: answer(401, { error: 'unauthorized' }),
  invalidPayload: answer(400, { error: 'invalid_payload' }),
  tooLarge: answer(413, { error: 'payload_too_large' }),
  bodyTimeout: answer(408, { error: 'body_timeout' }, { connection: 'close' }),
  methodNotAllowed: answer(405, { error: 'method_not_allowed' }, { allow: 'POST' }),
  inProgress: answer(503, { error: 'in_progress' }, { 'retry-after': '5' }),
  storeUnavailable: answer(503, { error: 'store_unavailable' }, { 'retry-after': '5' }),
  handlerFailed: answer(500, { error: 'handler_failed' }),
  bodyConsumed: answer(500, { error: 'body_consumed' }),
  /** A framework router's own 404 (its body is the framework's, not compared). */
  notFound: { status: 404, body: null, headers: { allow: null } },
} satisfies Record<string, Expected>;

/** The answer as compared: status, body (unless not compared), and the headers `expected` names. */
export function view(actual: Answer, expected: Expected): Expected {
  const headers: Record<string, string | null> = {};
  for (const name of Object.keys(expected.headers)) {
    const value = actual.headers[name];
    headers[name] =
      value === undefined
        ? null
        : name === 'content-type'
          ? value.toLowerCase().replaceAll(' ', '')
          : value;
  }
  return {
    status: actual.status,
    body: expected.body === null ? null : actual.body,
    headers,
  };
}

/** The outcome a row must produce for a case: its first tag with an exception, else the rule. */
export function outcomeFor(c: Case, adapter: AdapterUnderTest): Outcome {
  for (const tag of adapter.tags) {
    const exception = c.expectedFor?.[tag];
    if (exception) return exception;
  }
  return c.expected;
}

/** The only handler call, after asserting there was exactly one. */
export function onlyCall(env: CaseEnv): Call {
  expect(env.rec.calls).toHaveLength(1);
  return env.rec.calls[0]!;
}
