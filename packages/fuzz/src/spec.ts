/**
 * What one fuzz probe sends and what it may get back, as plain data: generators build it,
 * `toWire` turns it into bytes, `describeProbe` prints it when a property fails.
 */
import { SMUGGLED_ID } from './payloads.js';
import type { WirePlan } from './wire.js';

/** A header as written: name and value, each sent byte for byte (strings as latin1). */
export type RawHeader = readonly [name: string, value: string | Uint8Array];

/** How the body is framed on the wire. */
export type Framing =
  /** `Content-Length` of the body as sent (the honest case). */
  | { type: 'length' }
  /** `Content-Length: declared` whatever the body's real size (a lying length). */
  | { type: 'declared'; declared: number }
  /** `Transfer-Encoding: chunked`, the body cut in chunks of `size` bytes. */
  | {
      type: 'chunked';
      size: number;
      /** Chunk extensions (`;name=value`) after each size. */
      extension?: string;
      /** Trailer fields after the last chunk. */
      trailers?: readonly RawHeader[];
      /** Chunk sizes in uppercase hex with leading zeros. */
      paddedSizes?: boolean;
      /** Stop after this many chunks and never send the last one (a body that does not end). */
      unfinished?: boolean;
    }
  /** No length header and no body bytes. */
  | { type: 'none' }
  /** The body bytes as they are, framed by headers the request lists itself. */
  | { type: 'unframed' };

/** One HTTP request. */
export interface FuzzRequest {
  method: string;
  /** The request target (`/webhooks/ittybit?x=1`). */
  target: string;
  version: '1.1' | '1.0';
  /** Headers in order, after `Host` (repeats allowed). */
  headers: readonly RawHeader[];
  body: Uint8Array;
  framing: Framing;
  /** Leave out the `Host` header. */
  noHost?: boolean;
  /** The body holds a whole request whose `X-Fuzz-Id` is `{{smuggled}}`: it must never be handled. */
  smuggles?: boolean;
  /**
   * Send this text (UTF-8) instead of a request built from the fields above, for requests that
   * are not well-formed HTTP; `{{id}}` is replaced by the probe's fuzz id.
   */
  raw?: string | Uint8Array;
  /**
   * Ground truth: the `Ittybit-Signature` header is a valid HMAC of the exact body bytes the
   * server should read, under the receiver's secret. Only such a request may reach a handler or
   * the store.
   */
  signed: boolean;
}

/** What the answer to one request may be. */
export interface Expectation {
  /** Statuses the answer table allows for this input (HTTP-layer refusals included where named). */
  statuses: readonly number[];
  /** The server may close the connection without answering (CONNECT, a client abort, ...). */
  mayNotAnswer?: boolean;
  /**
   * Documented differences by adapter tag (`express route`, `route`, `web path`, ...; the most
   * specific tag of the adapter that is listed wins), replacing `statuses`.
   */
  byTag?: Readonly<Record<string, readonly number[]>>;
}

/** The statuses allowed for an adapter with these tags (most specific first). */
export function allowedStatuses(expect: Expectation, tags: readonly string[]): readonly number[] {
  for (const tag of tags) {
    const statuses = expect.byTag?.[tag];
    if (statuses) return statuses;
  }
  return expect.statuses;
}

/** One probe: a request (several when pipelined) and how it is written. */
export interface Probe {
  /**
   * The requests are copies of one delivery: exactly one of them may run the handler and be
   * answered `received` (the others: busy or duplicate).
   */
  exactlyOnce?: boolean;
  /** The kind's name and the variant picked inside it. */
  kind: string;
  variant: string;
  requests: FuzzRequest[];
  expect: Expectation[];
  /** Pauses and cut-offs while writing. */
  transport?: Transport;
}

export interface Transport {
  /** Write the bytes in this many roughly equal pieces, with `pauseMs` between them. */
  pieces?: number;
  pauseMs?: number;
  /** Stop writing after this fraction of the bytes (0..1) and then `ending`. */
  cutAt?: number;
  ending?: 'keep-open' | 'destroy' | 'half-close';
  /** Send the head, wait for `100 Continue`, then the body. */
  awaitContinue?: boolean;
  /** Write each request only once every request before it was answered (keep-alive, in turn). */
  inTurn?: boolean;
  /** Send each request on its own connection, all at once, the i-th after i × `staggerMs`. */
  parallel?: { staggerMs: number };
  /**
   * After the answers, wait up to this many ms for the server to close the connection: an
   * answer that says `Connection: close` must be followed by the close.
   */
  lingerMs?: number;
}

const CRLF = '\r\n';
const latin1 = (text: string) => Buffer.from(text, 'latin1');

function headerBytes(name: string, value: string | Uint8Array): Buffer {
  return Buffer.concat([
    latin1(`${name}: `),
    typeof value === 'string' ? latin1(value) : Buffer.from(value),
    latin1(CRLF),
  ]);
}

function chunked(body: Uint8Array, framing: Extract<Framing, { type: 'chunked' }>): Buffer {
  const out: Buffer[] = [];
  const size = Math.max(1, framing.size);
  for (let offset = 0; offset < body.length; offset += size) {
    const piece = body.subarray(offset, offset + size);
    let hex = piece.length.toString(16);
    if (framing.paddedSizes) hex = `000${hex.toUpperCase()}`;
    out.push(latin1(`${hex}${framing.extension ?? ''}${CRLF}`), Buffer.from(piece), latin1(CRLF));
  }
  // Never the last chunk: a body that does not end.
  if (framing.unfinished) return Buffer.concat(out);
  out.push(latin1(`0${CRLF}`));
  for (const [name, value] of framing.trailers ?? []) out.push(headerBytes(name, value));
  out.push(latin1(CRLF));
  return Buffer.concat(out);
}

/** The exact bytes of one request; `fuzzId` goes in an `X-Fuzz-Id` header. */
export function requestBytes(
  request: FuzzRequest,
  port: number,
  fuzzId: number,
  smuggledId?: number,
): Buffer {
  if (smuggledId !== undefined) {
    const body = Buffer.from(request.body)
      .toString('latin1')
      .replaceAll(SMUGGLED_ID, String(smuggledId).padStart(SMUGGLED_ID.length, '0'));
    return requestBytes({ ...request, body: Buffer.from(body, 'latin1') }, port, fuzzId);
  }
  if (request.raw !== undefined) {
    return typeof request.raw === 'string'
      ? Buffer.from(request.raw.replaceAll('{{id}}', String(fuzzId)))
      : Buffer.from(request.raw);
  }
  const head: Buffer[] = [
    latin1(`${request.method} ${request.target} HTTP/${request.version}${CRLF}`),
  ];
  if (!request.noHost) head.push(headerBytes('Host', `127.0.0.1:${port}`));
  head.push(headerBytes('X-Fuzz-Id', String(fuzzId)));
  for (const [name, value] of request.headers) head.push(headerBytes(name, value));
  const framing = request.framing;
  if (framing.type === 'length')
    head.push(headerBytes('Content-Length', String(request.body.length)));
  if (framing.type === 'declared')
    head.push(headerBytes('Content-Length', String(framing.declared)));
  if (framing.type === 'chunked') head.push(headerBytes('Transfer-Encoding', 'chunked'));
  head.push(latin1(CRLF));
  const body =
    framing.type === 'chunked'
      ? chunked(request.body, framing)
      : framing.type === 'none'
        ? Buffer.alloc(0)
        : Buffer.from(request.body);
  return Buffer.concat([...head, body]);
}

/** The wire plan of a probe: its requests' bytes (pipelined back to back), paced and cut. */
export function toWire(
  probe: Probe,
  port: number,
  ids: readonly number[],
  timeoutMs: number,
  smuggledIds: readonly (number | undefined)[] = [],
): { plan: WirePlan; headLength: number } {
  const bytesOf = (r: FuzzRequest, i: number) => requestBytes(r, port, ids[i] ?? 0, smuggledIds[i]);
  const all = Buffer.concat(probe.requests.map(bytesOf));
  const first = probe.requests[0];
  const headLength = first
    ? requestBytes(
        { ...first, body: new Uint8Array(0), framing: { type: 'none' } },
        port,
        ids[0] ?? 0,
      ).length
    : 0;
  const t = probe.transport ?? {};
  let bytes = all;
  if (t.cutAt !== undefined) {
    // Cut inside the first request's body (after its head), never before the head ends.
    const bodyLength = all.length - headLength;
    bytes = all.subarray(0, headLength + Math.floor(bodyLength * t.cutAt));
  }
  const parts: WirePlan['parts'] = [];
  if (t.inTurn) {
    probe.requests.forEach((r, i) => {
      if (i > 0) parts.push({ waitFor: i });
      parts.push(bytesOf(r, i));
    });
  } else if (t.awaitContinue) {
    parts.push(bytes.subarray(0, headLength), t.pauseMs ?? 200, bytes.subarray(headLength));
  } else {
    const pieces = Math.max(1, t.pieces ?? 1);
    const step = Math.ceil(bytes.length / pieces);
    for (let offset = 0; offset < bytes.length; offset += step) {
      if (offset > 0 && t.pauseMs) parts.push(t.pauseMs);
      parts.push(bytes.subarray(offset, offset + step));
    }
  }
  const headIndexes = probe.requests.flatMap((r, i) => (r.method === 'HEAD' ? [i] : []));
  return {
    plan: {
      parts,
      responses: probe.requests.length,
      headIndexes,
      ending: t.ending ?? 'keep-open',
      timeoutMs,
      awaitContinue: t.awaitContinue ?? false,
      ...(t.lingerMs ? { lingerMs: t.lingerMs } : {}),
    },
    headLength,
  };
}

function show(value: string | Uint8Array, max = 160): string {
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
  const escaped = JSON.stringify(text.length > max ? `${text.slice(0, max)}` : text);
  return text.length > max ? `${escaped}…(${text.length} chars)` : escaped;
}

/** A readable form of a probe for failure messages: request lines, headers, body (shortened). */
export function describeProbe(probe: Probe): string {
  const lines = [`kind ${probe.kind} (${probe.variant})`];
  probe.requests.forEach((r, i) => {
    if (r.raw !== undefined) {
      lines.push(`  #${i + 1} raw bytes, signed: ${r.signed}: ${show(r.raw, 400)}`);
      lines.push(`     may answer: ${probe.expect[i]?.statuses.join(', ')}`);
      return;
    }
    lines.push(
      `  #${i + 1} ${r.method} ${r.target} HTTP/${r.version}${r.noHost ? ' (no Host)' : ''}, signed: ${r.signed}, framing: ${JSON.stringify(r.framing)}`,
    );
    for (const [name, value] of r.headers) lines.push(`     ${name}: ${show(value)}`);
    lines.push(`     body (${r.body.length} bytes): ${show(r.body, 240)}`);
    const e = probe.expect[i];
    const byTag = Object.entries(e?.byTag ?? {})
      .map(([tag, s]) => `; ${tag}: ${s.join(', ')}`)
      .join('');
    lines.push(
      `     may answer: ${e?.statuses.join(', ')}${byTag}${e?.mayNotAnswer ? ' (or nothing)' : ''}`,
    );
  });
  if (probe.transport) lines.push(`  transport: ${JSON.stringify(probe.transport)}`);
  return lines.join('\n');
}
