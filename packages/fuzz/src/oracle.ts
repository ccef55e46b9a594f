/**
 * Judges one probe's answers against the answer table (docs/design.md#answers) and what reached
 * the receiver's handlers and store.
 */
import type { Observer } from './observer.js';
import { allowedStatuses, type Probe } from './spec.js';
import type { WireResponse, WireResult } from './wire.js';

/** Every code the receiver answers with, its status and the headers it must carry. */
const TABLE: Record<string, { status: number; headers?: Record<string, RegExp> }> = {
  method_not_allowed: { status: 405, headers: { allow: /^POST$/ } },
  payload_too_large: { status: 413 },
  body_timeout: { status: 408, headers: { connection: /close/i } },
  unauthorized: { status: 401 },
  invalid_payload: { status: 400 },
  in_progress: { status: 503, headers: { 'retry-after': /^\d+$/ } },
  store_unavailable: { status: 503, headers: { 'retry-after': /^\d+$/ } },
  handler_failed: { status: 500 },
  body_consumed: { status: 500 },
};

/** The receiver's own answer in a response: `received`, `duplicate`, an error code, or undefined (not the receiver's). */
export function answerCode(response: WireResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) return undefined;
  try {
    const body = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
    const keys = Object.keys(body).sort().join();
    // The receiver's bodies are exactly these shapes; a framework's own JSON errors (Fastify's
    // `{"error":"Bad Request","message":…,"statusCode":400}`) are not.
    if (body.received === true && (keys === 'received' || keys === 'duplicate,received')) {
      return body.duplicate === true ? 'duplicate' : 'received';
    }
    return keys === 'error' && typeof body.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** A violation: its category (for the summary) and what happened. */
export interface Violation {
  category:
    | 'unexpected 5xx'
    | 'unexpected status'
    | 'answer off the table'
    | 'no answer'
    | 'unsigned reached handler or store'
    | 'handler calls disagree with the answer'
    | 'request smuggled through a body'
    | 'connection left open'
    | 'ran more or less than once';
  message: string;
}

/** The label of one request's outcome in the summary: the status, or `none`. */
export function outcomeLabel(result: WireResult, index: number): string {
  const response = result.responses[index];
  return response ? String(response.status) : 'none';
}

export function judge(
  probe: Probe,
  result: WireResult,
  ids: readonly number[],
  observer: Observer,
  tags: readonly string[] = [],
  smuggledIds: readonly (number | undefined)[] = [],
): Violation[] {
  const out: Violation[] = [];
  for (const id of smuggledIds) {
    if (id !== undefined && observer.handled(id)) {
      out.push({
        category: 'request smuggled through a body',
        message: `the request written inside a body (id ${id}) was handled as a request of its own`,
      });
    }
  }
  const last = result.responses[result.responses.length - 1];
  if (result.serverClosed === false && last && /close/i.test(last.headers.connection ?? '')) {
    out.push({
      category: 'connection left open',
      message: `answered ${last.status} with Connection: close, but the connection was still open ${probe.transport?.lingerMs} ms later`,
    });
  }
  if (probe.exactlyOnce) {
    const codes = result.responses.map((r) => (r ? answerCode(r) : undefined));
    const received = codes.filter((c) => c === 'received').length;
    const duplicates = codes.filter((c) => c === 'duplicate').length;
    const runs = ids.reduce((sum, id) => sum + observer.handlersFor(id), 0);
    // Exactly one copy runs, unless an earlier probe already completed this delivery (then
    // every copy is a duplicate or busy, and none runs).
    if (runs !== received || received > 1 || (received === 0 && duplicates === 0)) {
      out.push({
        category: 'ran more or less than once',
        message: `${probe.requests.length} copies of one delivery: ${received} answered received, ${duplicates} duplicate, the handler ran ${runs} time(s); expected it to run once`,
      });
    }
  }
  let closing = false;
  probe.requests.forEach((request, i) => {
    const expect = probe.expect[i]!;
    const statuses = allowedStatuses(expect, tags);
    const id = ids[i]!;
    const response = result.responses[i];
    const at = probe.requests.length > 1 ? `#${i + 1}: ` : '';
    const handlers = observer.handlersFor(id);
    const store = observer.storeFor(id);
    if (!request.signed && (handlers > 0 || store > 0)) {
      out.push({
        category: 'unsigned reached handler or store',
        message: `${at}a request without a correct signature reached ${handlers} handler call(s) and ${store} store call(s)`,
      });
    }
    if (!response) {
      if (!expect.mayNotAnswer && !closing) {
        out.push({
          category: 'no answer',
          message: `${at}no answer (${result.end}${result.error ? `: ${result.error}` : ''} after ${result.ms} ms); expected ${statuses.join(' or ')}`,
        });
      }
      return;
    }
    if (/close/i.test(response.headers.connection ?? '')) closing = true;
    const status = response.status;
    if (!statuses.includes(status)) {
      out.push({
        category: status >= 500 ? 'unexpected 5xx' : 'unexpected status',
        message: `${at}answered ${status} ${JSON.stringify(response.body.toString('utf8').slice(0, 200))}; expected ${statuses.join(' or ')}`,
      });
    }
    const code = answerCode(response);
    if (code === 'received' || code === 'duplicate') {
      if (status !== 200) {
        out.push({
          category: 'answer off the table',
          message: `${at}${code} answered with ${status}`,
        });
      }
      if (code === 'duplicate' && response.headers['ittybit-webhook-duplicate'] !== 'true') {
        out.push({
          category: 'answer off the table',
          message: `${at}duplicate without Ittybit-Webhook-Duplicate: true`,
        });
      }
      const want = code === 'received' ? 1 : 0;
      if (handlers !== want) {
        out.push({
          category: 'handler calls disagree with the answer',
          message: `${at}answered ${code} but ${handlers} handler call(s) ran (every topic has a handler here: expected ${want})`,
        });
      }
    } else if (code !== undefined) {
      const row = TABLE[code];
      if (!row) {
        out.push({
          category: 'answer off the table',
          message: `${at}unknown answer code ${code} (${status})`,
        });
      } else {
        if (row.status !== status) {
          out.push({
            category: 'answer off the table',
            message: `${at}${code} answered with ${status}, the table says ${row.status}`,
          });
        }
        for (const [name, pattern] of Object.entries(row.headers ?? {})) {
          if (!pattern.test(response.headers[name] ?? '')) {
            out.push({
              category: 'answer off the table',
              message: `${at}${code} without ${name} matching ${pattern} (got ${JSON.stringify(response.headers[name])})`,
            });
          }
        }
      }
      const want = code === 'handler_failed' ? 1 : 0;
      if (handlers !== want) {
        out.push({
          category: 'handler calls disagree with the answer',
          message: `${at}answered ${status} ${code} but ${handlers} handler call(s) ran (expected ${want})`,
        });
      }
    } else if (handlers > 0 && status !== 200) {
      out.push({
        category: 'handler calls disagree with the answer',
        message: `${at}answered ${status} (not the receiver's answer) but a handler ran`,
      });
    }
    if (handlers > 1) {
      out.push({
        category: 'handler calls disagree with the answer',
        message: `${at}the handler ran ${handlers} times for one request`,
      });
    }
  });
  return out;
}

/** A short account of what came back, for failure messages. */
export function describeResult(result: WireResult): string {
  const lines = [
    `  got (${result.end}${result.error ? `: ${result.error}` : ''}, ${result.ms} ms):`,
  ];
  result.responses.forEach((r, i) => {
    const headers = Object.entries(r.headers)
      .filter(([n]) => !['date', 'keep-alive', 'content-length'].includes(n))
      .map(([n, v]) => `${n}: ${v}`)
      .join('; ');
    lines.push(
      `     #${i + 1} ${r.status} [${headers}] ${JSON.stringify(r.body.toString('utf8').slice(0, 200))}`,
    );
  });
  if (result.responses.length === 0) lines.push('     no response');
  return lines.join('\n');
}
