import { type Metadata, type ReceiverOptions, WebhookError } from '@ittybit-webhooks/core';
import {
  type BodyInput,
  isReceiver,
  type MountOptions,
  mountPath,
  normalizeHeaders,
  type Receiver,
  type ReceiverInput,
  type ReceiverResponse,
  toReceiver,
} from '@ittybit-webhooks/core/adapter';

// The event and result types are written out here (only the fields this package reads or writes)
// rather than imported from `@types/aws-lambda`, so using this package needs no extra types
// package. The tests check that AWS's own types (`APIGatewayProxyEvent`, `APIGatewayProxyEventV2`,
// `LambdaFunctionURLEvent`, `ALBEvent` and their results) fit them both ways.

/** Header maps as the events carry them: a value per name, or every value per name. */
export type EventHeaders = Record<string, string | undefined>;
export type EventMultiValueHeaders = Record<string, string[] | undefined>;

/**
 * An API Gateway REST API proxy event (payload format 1.0, also what an HTTP API sends when set to
 * that format).
 */
export interface ApiGatewayV1Event {
  httpMethod: string;
  path?: string | null;
  headers?: EventHeaders | null;
  multiValueHeaders?: EventMultiValueHeaders | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { path?: string; stage?: string } | null;
}

/** An API Gateway HTTP API event (payload format 2.0), and a Lambda Function URL event. */
export interface ApiGatewayV2Event {
  version: string;
  rawPath?: string;
  headers?: EventHeaders;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string }; stage?: string };
}

/** An Application Load Balancer target event (with or without multi-value headers). */
export interface AlbEvent {
  httpMethod: string;
  path?: string;
  headers?: EventHeaders;
  multiValueHeaders?: EventMultiValueHeaders;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext: { elb: { targetGroupArn?: string } };
}

/** Every HTTP event the handler takes. Handlers get it as `ctx.request`. */
export type LambdaHttpEvent = ApiGatewayV1Event | ApiGatewayV2Event | AlbEvent;

/**
 * What the handler returns, in the shape the event's source expects: `{ statusCode, headers, body }`
 * for HTTP APIs and Function URLs; with `isBase64Encoded` for REST APIs; with `statusDescription`
 * and `headers` or `multiValueHeaders` (whichever the request used) for a load balancer.
 */
export interface LambdaHttpResult {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded?: boolean;
}

/**
 * An async Lambda handler. The second argument (the Lambda context) is accepted and not used; it
 * fits `APIGatewayProxyHandler`, `APIGatewayProxyHandlerV2`, `LambdaFunctionURLHandler` and
 * `ALBHandler` from `@types/aws-lambda`.
 */
export type LambdaWebhookHandler = (
  event: LambdaHttpEvent,
  context?: unknown,
) => Promise<LambdaHttpResult>;

type Kind = 'v1' | 'v2' | 'alb';

const IMMEDIATELY = `ittybitWebhook (@ittybit-webhooks/lambda): respond: 'immediately' cannot work on AWS Lambda. Lambda freezes the execution environment as soon as the handler returns, so a webhook handler left running in the background stalls until a later invocation thaws it, or never finishes, and the sender already has its 200. Remove the respond option: the default ('after-handler') answers once your handler is done, and a handler that throws gets the delivery retried. For slow work, send a message to a queue (SQS) from the handler and return.`;

const PARSED =
  'The event body is not a string: something between the load balancer or API Gateway and this handler (a framework bridge, a test harness, a middleware) parsed the JSON, so the exact bytes that were signed are gone. Pass the event to the handler as Lambda received it: body a string, base64 when isBase64Encoded is true.';

// ALB wants a status line in `statusDescription`; only the statuses answered here.
const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Which source sent the event, or `undefined` for an event that is not an HTTP request. */
function kindOf(event: unknown): Kind | undefined {
  if (!isObject(event)) return undefined;
  const context = event.requestContext;
  if (isObject(context) && isObject(context.elb) && typeof event.httpMethod === 'string') {
    return 'alb';
  }
  if (
    typeof event.version === 'string' &&
    event.version.startsWith('2.') &&
    isObject(context) &&
    isObject(context.http) &&
    typeof context.http.method === 'string'
  ) {
    return 'v2';
  }
  if (typeof event.httpMethod === 'string') return 'v1';
  return undefined;
}

function notHttp(event: unknown): Error {
  const keys = isObject(event) ? Object.keys(event).slice(0, 8).join(', ') : typeof event;
  return new TypeError(
    `ittybitWebhook (@ittybit-webhooks/lambda): this event is not an HTTP request from API Gateway (REST or HTTP API), a Lambda Function URL or an Application Load Balancer (it has: ${keys}). Invoke the function through one of those.`,
  );
}

/**
 * Lowercase header names; every value of a repeated header, joined with `, `. REST and ALB events
 * may carry `multiValueHeaders` (all values) next to `headers` (the last value of each).
 */
function headersOf(event: LambdaHttpEvent, kind: Kind): Record<string, string> {
  if (kind === 'v2') return normalizeHeaders((event as ApiGatewayV2Event).headers as EventHeaders);
  const { headers, multiValueHeaders } = event as ApiGatewayV1Event;
  if (!isObject(multiValueHeaders)) return normalizeHeaders(headers as EventHeaders);
  const out = normalizeHeaders(multiValueHeaders as EventMultiValueHeaders);
  if (isObject(headers)) {
    for (const [name, value] of Object.entries(normalizeHeaders(headers as EventHeaders))) {
      if (out[name] === undefined) out[name] = value;
    }
  }
  return out;
}

/**
 * The body bytes exactly as they arrived: base64-decoded when `isBase64Encoded` is true, else the
 * UTF-8 bytes of the string (what API Gateway and the load balancer decoded them from). Sizes are
 * checked on the text before decoding.
 */
function bodyOf(event: LambdaHttpEvent): (maxBytes: number) => Promise<BodyInput> {
  return async (maxBytes) => {
    const body = (event as { body?: unknown }).body;
    if (body === undefined || body === null) return new Uint8Array(0);
    if (typeof body !== 'string') throw new WebhookError('body_consumed', PARSED);
    if (event.isBase64Encoded === true) {
      // Four base64 characters carry three bytes; padding only makes the decoded body shorter.
      const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
      const size = Math.floor((body.length * 3) / 4) - padding;
      if (size > maxBytes) throw tooLarge(size, maxBytes);
      return Buffer.from(body, 'base64');
    }
    // Each UTF-16 code unit takes at least one UTF-8 byte.
    if (body.length > maxBytes) throw tooLarge(body.length, maxBytes);
    return body;
  };
}

function tooLarge(size: number, maxBytes: number): WebhookError {
  return new WebhookError(
    'payload_too_large',
    `Body of at least ${size} bytes is over maxBodyBytes (${maxBytes}).`,
  );
}

/**
 * The paths the request may have been addressed to: HTTP APIs put a named stage in front of the
 * path (`/prod/webhooks/ittybit`), REST APIs give the path without it in `path`.
 */
function pathsOf(event: LambdaHttpEvent, kind: Kind): string[] {
  if (kind === 'v2') {
    const { rawPath, requestContext } = event as ApiGatewayV2Event;
    const path = rawPath ?? requestContext.http.path ?? '/';
    const stage = requestContext.stage;
    if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) {
      return [path, path.slice(stage.length + 1)];
    }
    return [path];
  }
  const paths: string[] = [];
  const { path, requestContext } = event as ApiGatewayV1Event;
  if (typeof path === 'string') paths.push(path);
  if (kind === 'v1' && isObject(requestContext) && typeof requestContext.path === 'string') {
    paths.push(requestContext.path);
  }
  return paths;
}

/** The answer in the result shape the event's source expects. */
function resultOf(
  event: LambdaHttpEvent,
  kind: Kind,
  status: number,
  answerHeaders: Readonly<Record<string, string>>,
  body: string,
): LambdaHttpResult {
  const headers = { ...answerHeaders };
  if (kind === 'v2') return { statusCode: status, headers, body };
  if (kind === 'v1') return { statusCode: status, headers, body, isBase64Encoded: false };
  const statusDescription = `${status} ${REASONS[status] ?? ''}`.trim();
  if (isObject((event as AlbEvent).multiValueHeaders)) {
    // With multi-value headers on, the load balancer reads only `multiValueHeaders`.
    const multiValueHeaders: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(headers)) multiValueHeaders[name] = [value];
    return {
      statusCode: status,
      statusDescription,
      multiValueHeaders,
      body,
      isBase64Encoded: false,
    };
  }
  return { statusCode: status, statusDescription, headers, body, isBase64Encoded: false };
}

function respondOf(input: unknown): unknown {
  if (isReceiver(input)) return input.options.respond;
  return isObject(input) ? (input as Partial<ReceiverOptions>).respond : undefined;
}

/**
 * Creates an async AWS Lambda handler receiving Ittybit webhooks from API Gateway (REST and HTTP
 * APIs), a Lambda Function URL or an Application Load Balancer. It takes the exact body bytes
 * (base64-decoded when `isBase64Encoded` says so), runs the core receiver and returns its answer in
 * the shape the event's source expects. Handlers get the event as `ctx.request`. With `path`,
 * requests to other paths get a 404.
 *
 * Created once per execution environment (outside the handler), so the in-memory duplicate store
 * lasts only as long as that environment: give `idempotency.store` a shared store (Redis,
 * PostgreSQL) to drop duplicates across environments. Throws at creation for
 * `respond: 'immediately'`, which cannot work after a Lambda returns.
 *
 * ```ts
 * export const handler = ittybitWebhook({ secret, onSucceeded, onFailed });
 * ```
 */
export function ittybitWebhook<M = Metadata>(
  optionsOrReceiver: ReceiverInput<M, LambdaHttpEvent>,
  mount?: MountOptions,
): LambdaWebhookHandler {
  if (respondOf(optionsOrReceiver) === 'immediately') {
    throw new WebhookError('invalid_options', IMMEDIATELY);
  }
  const path = mountPath(mount);
  const receiver: Receiver<M, LambdaHttpEvent> = toReceiver(optionsOrReceiver);
  return async (event) => {
    const kind = kindOf(event);
    if (!kind) throw notHttp(event);
    if (path !== undefined && !pathsOf(event, kind).includes(path)) {
      return resultOf(event, kind, 404, {}, '');
    }
    const method =
      kind === 'v2'
        ? (event as ApiGatewayV2Event).requestContext.http.method
        : (event as ApiGatewayV1Event).httpMethod;
    const answer: ReceiverResponse = await receiver.handle({
      method,
      headers: headersOf(event, kind),
      body: bodyOf(event),
      request: event,
    });
    return resultOf(event, kind, answer.status, answer.headers, answer.body);
  };
}
