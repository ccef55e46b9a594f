import { type Agent, request as httpRequest } from 'node:http';

/** One answer as the sender sees it: status, lowercase headers, body text. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw HTTP request; `body` is sent as exact bytes. */
export interface RawRequest {
  method?: string;
  /** Header values sent verbatim (an empty string is sent as an empty header). */
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /**
   * Send the body in chunks of this many bytes with `Transfer-Encoding: chunked` and no
   * `Content-Length`.
   */
  chunkSize?: number;
  /**
   * Declare this `Content-Length` but send only `body`, and never end the request: the server must
   * answer from the header alone.
   */
  declaredLength?: number;
  /**
   * With `chunkSize`: wait this long between chunks (a slow client). Writing stops once an answer
   * arrived.
   */
  chunkDelayMs?: number;
  /** Do not end the request after `body` (the server must answer while the body is still open). */
  leaveOpen?: boolean;
  /** A keep-alive agent to reuse one connection across requests (default: a new connection). */
  agent?: Agent;
  /** Give up when no answer came within this many milliseconds (default 5000). */
  timeoutMs?: number;
}

/**
 * Sends one request with `node:http` (not fetch) so the suite controls the exact bytes, the
 * framing (chunked or Content-Length) and whether the body ever ends. Never hangs: it rejects
 * after `timeoutMs`.
 */
export function send(url: string, raw: RawRequest = {}): Promise<Answer> {
  const body = typeof raw.body === 'string' ? Buffer.from(raw.body, 'utf8') : raw.body;
  const timeoutMs = raw.timeoutMs ?? 5000;
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const headers: Record<string, string> = { ...raw.headers };
    if (raw.declaredLength !== undefined) {
      headers['content-length'] = String(raw.declaredLength);
    } else if (raw.chunkSize === undefined && body !== undefined) {
      headers['content-length'] = String(body.length);
    } else if (raw.chunkSize !== undefined) {
      headers['transfer-encoding'] = 'chunked';
    }
    const lazy = raw.chunkDelayMs !== undefined;
    const req = httpRequest(url, {
      method: raw.method ?? 'POST',
      headers,
      agent: raw.agent ?? false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new Error(
          `No answer within ${timeoutMs} ms (${raw.method ?? 'POST'} ${url}${
            raw.leaveOpen || raw.declaredLength !== undefined ? ', request body left open' : ''
          })`,
        ),
      );
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on('end', () => {
        answered = true;
        clearTimeout(timer);
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: out,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        // A request left open on purpose is abandoned once answered.
        if (raw.leaveOpen || raw.declaredLength !== undefined) req.destroy();
      });
    });
    req.on('error', (error) => {
      // A server that answered and then closed the socket on a body it refused is fine.
      if (answered) return;
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
    const done = () => {
      if (!raw.leaveOpen && raw.declaredLength === undefined && !req.destroyed) req.end();
    };
    if (body !== undefined && body.length > 0 && raw.chunkSize !== undefined && lazy) {
      // Bounded: one chunk per tick of `chunkDelayMs`; stops once answered or destroyed.
      const size = raw.chunkSize;
      let offset = 0;
      const tick = () => {
        if (answered || req.destroyed) return;
        if (offset >= body.length) return done();
        req.write(body.subarray(offset, offset + size));
        offset += size;
        setTimeout(tick, raw.chunkDelayMs);
      };
      tick();
      return;
    }
    if (body !== undefined && body.length > 0) {
      if (raw.chunkSize !== undefined) {
        // Bounded: one write per chunk of the given body; stops early once an answer arrived.
        for (let offset = 0; offset < body.length; offset += raw.chunkSize) {
          if (req.destroyed) break;
          req.write(body.subarray(offset, offset + raw.chunkSize));
        }
      } else {
        req.write(body);
      }
    }
    done();
  });
}
