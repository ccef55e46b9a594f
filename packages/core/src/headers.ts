/** Request headers as any runtime has them: a Web `Headers`, Node's `IncomingHttpHeaders`, or pairs. */
export type HeadersInput =
  | Headers
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | Iterable<readonly [string, string]>;

function isHeaders(value: object): value is Headers {
  return (
    typeof (value as Headers).get === 'function' && typeof (value as Headers).has === 'function'
  );
}

function isIterable(value: object): value is Iterable<readonly [string, string]> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Lowercase-keyed copy of the request headers; repeated values are joined with `, `. */
export function normalizeHeaders(input: HeadersInput | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!input || typeof input !== 'object') return out;
  const add = (name: string, value: unknown) => {
    const value_ = text(value);
    if (value_ === undefined) return;
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value_ : `${out[key]}, ${value_}`;
  };
  if (isHeaders(input)) {
    for (const [name, value] of input.entries()) add(name, value);
  } else if (isIterable(input)) {
    for (const [name, value] of input) add(name, value);
  } else {
    for (const name of Object.keys(input)) add(name, (input as Record<string, unknown>)[name]);
  }
  return out;
}

/**
 * One header's value (`name` in lowercase) without copying the others: Node's lowercase header
 * objects and Web `Headers` are read directly; other shapes are scanned.
 */
export function headerOf(input: HeadersInput | undefined | null, name: string): string | undefined {
  if (!input || typeof input !== 'object') return undefined;
  if (isHeaders(input)) return input.get(name) ?? undefined;
  if (isIterable(input)) return normalizeHeaders(input)[name];
  const record = input as Record<string, unknown>;
  const direct = text(record[name]);
  if (direct !== undefined) return direct;
  // Mixed-case names: compare only keys of the right length.
  let found: string | undefined;
  for (const key of Object.keys(record)) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = text(record[key]);
    if (value !== undefined) found = found === undefined ? value : `${found}, ${value}`;
  }
  return found;
}
