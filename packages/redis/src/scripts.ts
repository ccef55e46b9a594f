// Lua scripts sent by SHA, shared by the store and the dead-letter sink: one EVALSHA, and on
// NOSCRIPT (a server restarted, failed over, SCRIPT FLUSH) one EVAL, which caches it again.
import { createHash } from 'node:crypto';
import { WebhookError } from '@ittybit-webhooks/core';
import type { IoredisLikeClient, NodeRedisLikeClient, RedisClientLike } from './index.js';

/** A script and its SHA-1, computed once. */
export interface Script {
  source: string;
  sha: string;
}

export const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

/** Runs a script on `keys` with `args`, whichever client it is. */
export type Evaluate = (script: Script, keys: string[], args: string[]) => Promise<unknown>;

/** The server does not have the script cached (restart, failover, SCRIPT FLUSH, eviction). */
function noScript(error: unknown): boolean {
  return (
    typeof (error as { message?: unknown })?.message === 'string' &&
    (error as Error).message.startsWith('NOSCRIPT')
  );
}

/**
 * An {@link Evaluate} for an ioredis or node-redis client; anything else is refused at creation
 * with a message naming `owner` (`RedisStore`, `RedisDeadLetters`).
 */
export function evaluator(client: RedisClientLike, owner: string): Evaluate {
  const c = client as { eval?: unknown; evalsha?: unknown; evalSha?: unknown; EVAL?: unknown };
  const nodeRedis = typeof c?.EVAL === 'function';
  if (typeof c?.eval !== 'function' || typeof (nodeRedis ? c.evalSha : c.evalsha) !== 'function') {
    throw new WebhookError(
      'invalid_options',
      `${owner}: \`client\` must be an ioredis or node-redis client (with \`eval\` and \`evalsha\`, or \`eval\` and \`evalSha\`), e.g. new ${owner}({ client: new Redis(process.env.REDIS_URL) }).`,
    );
  }
  if (nodeRedis) {
    const node = client as NodeRedisLikeClient;
    return async (script, keys, args) => {
      const options = { keys, arguments: args };
      try {
        return await node.evalSha(script.sha, options);
      } catch (error) {
        if (!noScript(error)) throw error;
        return node.eval(script.source, options);
      }
    };
  }
  const io = client as IoredisLikeClient;
  return async (script, keys, args) => {
    try {
      return await io.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!noScript(error)) throw error;
      return io.eval(script.source, keys.length, ...keys, ...args);
    }
  };
}
