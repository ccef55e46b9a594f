// What every command shares: its name, exit codes, usage errors and argument checks.

/** Exit codes of the command. */
export const EXIT = {
  /** Every delivery ended 2xx (or `sign` printed its header, or `dead-letters` its list). */
  ok: 0,
  /** At least one delivery ended with a non-2xx answer (a 4xx, or a 5xx after every retry). */
  failed: 1,
  /** Bad usage or input (URL, file, secret), or the endpoint could not be reached at all. */
  usage: 2,
} as const;

/** The command's name (the package's bin), as it prefixes error lines. */
export const NAME = 'ittybit-webhooks';
/** How a user runs it without installing anything: npx runs the package's only bin. */
export const RUN = 'npx @ittybit-webhooks/cli';

/** Bad usage or input: printed as one line, exit {@link EXIT.usage}. */
export class UsageError extends Error {}

/** The whole number of `--name`, at least `min`; `undefined` when the flag was not given. */
export function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number >= ${min}, got "${value}".`);
  }
  return n;
}

/** An http(s) endpoint URL, or a usage error saying what one looks like. */
export function parseUrl(raw: string | undefined): URL {
  if (!raw) throw new UsageError('missing <url>, e.g. http://127.0.0.1:3000/webhooks/ittybit.');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `"${raw}" is not a valid URL; expected e.g. http://127.0.0.1:3000/webhooks/ittybit.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${raw}" is not an http(s) URL.`);
  }
  return url;
}

/** Runs `parse`, turning `node:util` parseArgs errors (unknown option, missing value) into usage errors. */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}
