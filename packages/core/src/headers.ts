/** Request headers as any runtime has them: a Web `Headers`, Node's `IncomingHttpHeaders`, or pairs. */
export type HeadersInput =
  | Headers
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | Iterable<readonly [string, string]>;

function isHeaders(value: HeadersInput): value is Headers {
  return (
    typeof (value as Headers).get === 'function' && typeof (value as Headers).has === 'function'
  );
}

function isIterable(value: HeadersInput): value is Iterable<readonly [string, string]> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** Lowercase-keyed copy of the request headers; repeated values are joined with `, `. */
export function normalizeHeaders(input: HeadersInput | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!input) return out;
  const add = (name: string, value: unknown) => {
    if (value === undefined || value === null) return;
    const key = name.toLowerCase();
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    out[key] = out[key] === undefined ? text : `${out[key]}, ${text}`;
  };
  if (isHeaders(input)) {
    for (const [name, value] of input.entries()) add(name, value);
  } else if (isIterable(input)) {
    for (const [name, value] of input) add(name, value);
  } else {
    for (const [name, value] of Object.entries(input)) add(name, value);
  }
  return out;
}
