// A TCP proxy on 127.0.0.1 in front of an engine, to break the connection on purpose. Plain
// JavaScript so the fault suite can also run it in a process of its own (proxy-process.mjs), away
// from the test runner's event loop; tcp-proxy.d.mts has its types.
import { createConnection, createServer } from 'node:net';

const HOST = '127.0.0.1';

export class TcpProxy {
  #mode = 'forward';
  /** @type {(() => number) | undefined} */
  #delay;
  #server;
  #pairs = new Set();

  constructor(server, port) {
    this.#server = server;
    this.port = port;
  }

  static async start(targetPort) {
    let proxy;
    const server = createServer((client) => {
      if (proxy) proxy.#accept(client, targetPort);
      else client.destroy();
    });
    await new Promise((resolve) => server.listen(0, HOST, resolve));
    proxy = new TcpProxy(server, server.address().port);
    return proxy;
  }

  get connections() {
    return this.#pairs.size;
  }

  #accept(client, targetPort) {
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: HOST, port: targetPort });
    const pair = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', this.#relay(upstream));
    upstream.on('data', this.#relay(client));
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
      if (this.#mode === 'stall') socket.pause();
    }
  }

  // Writes what arrives to `to`, after the `slow` delay if one is set. One queue and one timer
  // per direction, so chunks leave strictly in the order they came (a timer per chunk could fire
  // out of order and corrupt the protocol stream).
  #relay(to) {
    const queue = [];
    let scheduled = false;
    let last = 0;
    const flush = () => {
      scheduled = false;
      const now = Date.now();
      while (queue.length > 0 && queue[0].at <= now) {
        const { data } = queue.shift();
        if (!to.destroyed) to.write(data);
      }
      if (queue.length > 0) {
        scheduled = true;
        setTimeout(flush, queue[0].at - now);
      }
    };
    return (data) => {
      const delay = this.#delay?.() ?? 0;
      if (delay <= 0 && queue.length === 0) {
        to.write(data);
        return;
      }
      const now = Date.now();
      last = Math.max(last, now + delay);
      queue.push({ at: last, data });
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, last - now);
      }
    };
  }

  forward() {
    this.#mode = 'forward';
    this.#delay = undefined;
    for (const pair of this.#pairs) for (const socket of pair) socket.resume();
  }

  slow(sample) {
    this.forward();
    this.#delay = sample;
  }

  stall() {
    this.#mode = 'stall';
    for (const pair of this.#pairs) for (const socket of pair) socket.pause();
  }

  refuse() {
    this.#mode = 'refuse';
    this.drop();
  }

  drop() {
    for (const [client, upstream] of this.#pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close() {
    this.drop();
    await new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
