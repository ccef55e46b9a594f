/**
 * A TCP proxy on 127.0.0.1 in front of an engine, to break the connection on purpose:
 * `forward` passes bytes, `stall` holds them (a hung network), `refuse` resets every connection,
 * `slow` delays every chunk (a slow network or engine).
 */
export declare class TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  private constructor();
  /** Starts a proxy to `127.0.0.1:targetPort` on an ephemeral port. */
  static start(targetPort: number): Promise<TcpProxy>;
  /** Connections currently open through the proxy. */
  get connections(): number;
  /** Passes bytes again (also the bytes held while stalled), without delay. */
  forward(): void;
  /**
   * Passes bytes, each chunk in each direction `sample()` ms late, in order: a chunk never
   * overtakes an earlier one on the same connection.
   */
  slow(sample: () => number): void;
  /** Holds every byte in both directions: requests hang until a timeout. */
  stall(): void;
  /** Resets every open connection, and every new one until {@link TcpProxy.forward}. */
  refuse(): void;
  /** Resets every open connection (new ones still go through). */
  drop(): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}
