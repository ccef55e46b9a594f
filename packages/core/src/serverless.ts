import type { Log } from './log.js';

/** The platform, when this runs where instances come and go (and memory with them). */
export function serverlessPlatform(): string | undefined {
  try {
    return detect();
  } catch {
    // Deno without --allow-env throws on reading process.env: then we cannot tell.
    return undefined;
  }
}

function detect(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  if (env?.AWS_LAMBDA_FUNCTION_NAME) return 'AWS Lambda';
  if (env?.VERCEL) return 'Vercel';
  if (env?.NETLIFY) return 'Netlify';
  if (env?.FUNCTION_TARGET || env?.K_SERVICE) return 'Google Cloud Functions / Cloud Run';
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  if (agent === 'Cloudflare-Workers') return 'Cloudflare Workers';
  return undefined;
}

let warned = false;

/**
 * Warns once per process, at creation, when deduplication would live in one short-lived
 * instance's memory: duplicates that reach another instance would run again.
 */
export function warnIfServerlessMemory(log: Log): void {
  if (warned) return;
  const platform = serverlessPlatform();
  if (!platform) return;
  warned = true;
  log(
    'warn',
    `Running on ${platform} with the default in-memory idempotency store: deduplication only holds within one instance, and instances come and go. Use a shared store (@ittybit-webhooks/redis or @ittybit-webhooks/postgres) through idempotency: { store }.`,
  );
}
