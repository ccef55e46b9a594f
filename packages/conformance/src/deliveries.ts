import { signPayload } from '@ittybit-webhooks/core/testing';
import type { CaseEnv } from './case.js';
import { type RawRequest, send } from './http.js';

/** The secret every case's receiver uses unless the case says otherwise. */
export const SECRET = 'whsec_conformance_0123456789';

export const utf8 = (text: string) => new TextEncoder().encode(text);
export const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);

/** A signed request, ready for `send`. */
export type SignedRequest = RawRequest & { body: Uint8Array; headers: Record<string, string> };

/**
 * A delivery of `body` (an object is sent as compact JSON) signed the way Ittybit signs it.
 * `signature` rewrites the header value (`undefined`: no header); `contentType` `undefined` sends
 * none.
 */
export async function signed(
  body: object | string | Uint8Array,
  {
    secret = SECRET,
    signature = (s: string): string | undefined => s,
    contentType = 'application/json' as string | undefined,
  } = {},
): Promise<SignedRequest> {
  const bytes =
    body instanceof Uint8Array
      ? body
      : utf8(typeof body === 'string' ? body : JSON.stringify(body));
  const header = signature(await signPayload(bytes, secret));
  return {
    body: bytes,
    headers: {
      ...(contentType !== undefined ? { 'content-type': contentType } : {}),
      ...(header !== undefined ? { 'ittybit-signature': header } : {}),
    },
  };
}

/** Remembers `payload` as sent (for the case's checks) and sends it signed; one answer. */
export async function deliver(env: CaseEnv, payload: object, request: Partial<RawRequest> = {}) {
  env.sent.push(payload);
  return [await send(env.url, { ...(await signed(payload)), ...request })];
}

/** Sends one request and returns its answer as a one-element list. */
export const once = async (url: string, request: RawRequest | Promise<RawRequest>) => [
  await send(url, await request),
];

/**
 * The JSON text of `payload` with `"<key>": <json>` written first, as raw text: how a payload
 * gets a `"__proto__"` key (JSON.stringify of an object literal cannot produce one).
 */
export function withRawKey(payload: object, key: string, json: string): string {
  return `{${JSON.stringify(key)}:${json},${JSON.stringify(payload).slice(1)}`;
}

/** The JSON text of `payload` with each field of `fields` set to the raw JSON text given. */
export function withRawFields(payload: object, fields: Record<string, string>): string {
  const marker = (field: string) => JSON.stringify(`@@${field}@@`);
  let json = JSON.stringify({
    ...payload,
    ...Object.fromEntries(Object.keys(fields).map((field) => [field, `@@${field}@@`])),
  });
  for (const [field, raw] of Object.entries(fields)) json = json.replace(marker(field), raw);
  return json;
}

/** JSON arrays nested `depth` levels deep around `inner` (raw JSON). */
export const nestedArrays = (depth: number, inner: string) =>
  `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** JSON objects nested `depth` levels deep (`{"a":{"a":…}}`) around `inner` (raw JSON). */
export const nestedObjects = (depth: number, inner: string) =>
  `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
