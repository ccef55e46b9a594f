/**
 * A raw HTTP/1.x client over `node:net`: the fuzz suite writes exact bytes (repeated headers,
 * lying `Content-Length`, pipelined requests, bodies cut off mid-way) that `node:http` and fetch
 * refuse to send, and reads the answers with a small response parser.
 */
import { connect, type Socket } from 'node:net';

/** One answer as read off the wire: status, lowercase headers (repeats joined), body bytes. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** How the bytes are written and when the client stops. */
export interface WirePlan {
  /**
   * Written in order; a number is a pause of that many milliseconds, `{ waitFor: n }` waits until
   * n responses arrived (or reading stopped).
   */
  parts: (Uint8Array | number | { waitFor: number })[];
  /** Responses to wait for (pipelined requests: one each). */
  responses: number;
  /** Requests made with HEAD: their answers have no body. Indexes into the responses. */
  headIndexes?: readonly number[];
  /**
   * `keep-open` (default): write, then read until every response arrived, the server closed, or
   * the timeout; `destroy`: write, then reset the connection without reading (a client abort);
   * `half-close`: write, end our side, then read.
   */
  ending?: 'keep-open' | 'destroy' | 'half-close';
  /** Give up reading after this many milliseconds. */
  timeoutMs: number;
  /** Before the first pause, wait until a `100 Continue` arrived (or the pause elapsed). */
  awaitContinue?: boolean;
  /**
   * Once every response arrived, keep the connection up to this many milliseconds to see
   * whether the server closes it (`serverClosed` in the result).
   */
  lingerMs?: number;
}

/** What came back: the responses in order, and why reading stopped. */
export interface WireResult {
  responses: WireResponse[];
  /** `done`: all responses read; `closed`: the server closed first; `timeout`; `error`. */
  end: 'done' | 'closed' | 'timeout' | 'error';
  /** Informational (1xx) answers seen, e.g. 100 Continue. */
  informational: number[];
  error?: string;
  ms: number;
  /** With `lingerMs`: whether the server closed the connection after its answers. */
  serverClosed?: boolean;
}

class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  readonly responses: WireResponse[] = [];
  readonly informational: number[] = [];
  /** Set when the current response's body runs until the connection closes. */
  private untilClose: { status: number; headers: Record<string, string> } | undefined;
  malformed: string | undefined;

  constructor(private readonly headIndexes: ReadonlySet<number>) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.parse();
  }

  /** The server closed: a body delimited by the close is complete now. */
  close(): void {
    if (this.untilClose) {
      this.responses.push({ ...this.untilClose, body: this.buffer });
      this.untilClose = undefined;
      this.buffer = Buffer.alloc(0);
    }
  }

  private parse(): void {
    while (!this.malformed && !this.untilClose) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!match) {
        this.malformed = `not an HTTP status line: ${JSON.stringify(lines[0])}`;
        return;
      }
      const status = Number(match[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const rest = this.buffer.subarray(end + 4);
      if (status >= 100 && status < 200) {
        this.informational.push(status);
        this.buffer = rest;
        continue;
      }
      const noBody =
        this.headIndexes.has(this.responses.length) || status === 204 || status === 304;
      if (noBody) {
        this.responses.push({ status, headers, body: Buffer.alloc(0) });
        this.buffer = rest;
        continue;
      }
      if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
        const decoded = decodeChunked(rest);
        if (decoded === 'incomplete') return;
        if (decoded === 'malformed') {
          this.malformed = 'malformed chunked response body';
          return;
        }
        this.responses.push({ status, headers, body: decoded.body });
        this.buffer = rest.subarray(decoded.used);
        continue;
      }
      const length = headers['content-length'];
      if (length !== undefined) {
        const n = Number(length);
        if (rest.length < n) return;
        this.responses.push({ status, headers, body: Buffer.from(rest.subarray(0, n)) });
        this.buffer = rest.subarray(n);
        continue;
      }
      this.untilClose = { status, headers };
      this.buffer = rest;
    }
  }
}

function decodeChunked(data: Buffer): { body: Buffer; used: number } | 'incomplete' | 'malformed' {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return 'incomplete';
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size < 0) return 'malformed';
    offset = lineEnd + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      const trailerEnd = data.indexOf('\r\n', offset);
      if (trailerEnd === -1) return 'incomplete';
      if (trailerEnd === offset) return { body: Buffer.concat(parts), used: offset + 2 };
      const end = data.indexOf('\r\n\r\n', offset);
      if (end === -1) return 'incomplete';
      return { body: Buffer.concat(parts), used: end + 4 };
    }
    if (data.length < offset + size + 2) return 'incomplete';
    parts.push(data.subarray(offset, offset + size));
    offset += size + 2;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends the plan's bytes to `port` on 127.0.0.1 and reads what comes back. Never rejects. */
export function exchange(port: number, plan: WirePlan): Promise<WireResult> {
  const started = performance.now();
  const parser = new ResponseParser(new Set(plan.headIndexes ?? []));
  const ending = plan.ending ?? 'keep-open';
  return new Promise<WireResult>((resolve) => {
    let settled = false;
    let continued: (() => void) | undefined;
    let answered: (() => void) | undefined;
    let lingering = false;
    let lingerTimer: ReturnType<typeof setTimeout> | undefined;
    let serverClosed = false;
    const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const finish = (end: WireResult['end'], error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(lingerTimer);
      queueMicrotask(() => answered?.());
      socket.destroy();
      const result: WireResult = {
        responses: parser.responses,
        end,
        informational: parser.informational,
        ms: Math.round(performance.now() - started),
      };
      if (error !== undefined) result.error = error;
      if (lingering) result.serverClosed = serverClosed;
      resolve(result);
    };
    const allAnswered = () => {
      if (!plan.lingerMs) return finish('done');
      if (lingering) return;
      lingering = true;
      clearTimeout(timer);
      lingerTimer = setTimeout(() => finish('done'), plan.lingerMs);
    };
    /** The server ended, closed or reset the connection. */
    const ended = () => {
      parser.close();
      if (lingering) {
        serverClosed = true;
        return finish('done');
      }
      if (parser.responses.length >= plan.responses) {
        // Answered and closed at once: with lingerMs, that is a close too.
        if (plan.lingerMs) {
          lingering = true;
          serverClosed = true;
        }
        return finish('done');
      }
      return undefined;
    };
    const timer = setTimeout(() => finish('timeout'), plan.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (parser.informational.length > 0) continued?.();
      answered?.();
      if (parser.malformed) finish('error', parser.malformed);
      else if (parser.responses.length >= plan.responses) allAnswered();
    });
    socket.on('end', () => {
      if (ended() === undefined) finish('closed');
      answered?.();
    });
    socket.on('close', () => {
      if (ended() === undefined) finish('closed');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answers arrived (the server refused the rest of a body) is fine.
      if (ended() !== undefined) return;
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish('closed');
      else finish('error', `${error.code ?? ''} ${error.message}`);
    });
    socket.once('connect', async () => {
      let waitedForContinue = !plan.awaitContinue;
      for (const part of plan.parts) {
        if (settled || socket.destroyed) return;
        if (typeof part === 'object' && !(part instanceof Uint8Array)) {
          while (!settled && parser.responses.length < part.waitFor) {
            await new Promise<void>((r) => {
              answered = r;
            });
          }
          continue;
        }
        if (typeof part === 'number') {
          if (!waitedForContinue) {
            waitedForContinue = true;
            await Promise.race([
              sleep(part),
              new Promise<void>((r) => {
                continued = r;
              }),
            ]);
          } else {
            await sleep(part);
          }
          continue;
        }
        if (socket.writable) socket.write(part);
      }
      if (settled) return;
      if (ending === 'destroy') {
        // Let the bytes leave before the reset, so the server sees a body cut off mid-way.
        setTimeout(() => {
          socket.resetAndDestroy();
          finish('closed');
        }, 5);
      } else if (ending === 'half-close') {
        socket.end();
      }
    });
  });
}
