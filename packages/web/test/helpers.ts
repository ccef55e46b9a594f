import http from 'node:http';
import type { Logger } from '@ittybit-webhooks/core';

export const SECRET = 'whsec_web_test';

/** A logger that keeps every line, for asserting what the user would read. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
  };
  return {
    lines,
    error: keep('error'),
    warn: keep('warn'),
    info: keep('info'),
    debug: keep('debug'),
  };
}

/** What a client saw from one HTTP exchange. */
export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** How many chunks the client had written when the answer arrived. */
  chunksWritten: number;
}

/**
 * POSTs `chunk` up to `maxChunks` times with chunked transfer encoding (no Content-Length), and
 * stops writing as soon as the server answers. Resolves with the answer.
 */
export function postChunked(
  url: string,
  headers: Record<string, string>,
  chunk: Uint8Array,
  maxChunks: number,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers });
    let answered = false;
    let chunksWritten = 0;
    request.on('response', (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(parts).toString('utf8'),
          chunksWritten,
        });
        request.destroy();
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && chunksWritten < maxChunks) {
        chunksWritten += 1;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
      if (!answered) request.end();
    };
    pump();
  });
}
