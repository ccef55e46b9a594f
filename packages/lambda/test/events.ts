// HTTP requests as each AWS source hands them to a Lambda function, built field by field after
// AWS's documented examples (API Gateway REST proxy integration, HTTP API payload format 2.0, Lambda
// Function URLs, Application Load Balancer targets with and without multi-value headers), and typed
// with `@types/aws-lambda` so a missing or misnamed field does not compile.
import type {
  ALBEvent,
  ALBResult,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  LambdaFunctionURLEvent,
} from 'aws-lambda';
import { expect } from 'vitest';

/** One HTTP request as the client sent it. */
export interface HttpRequest {
  method?: string;
  /** Default `/webhooks/ittybit`. */
  path?: string;
  /** Header names as sent (case kept), in order; a name may repeat. */
  headers?: [string, string][];
  body?: Uint8Array | string;
  /**
   * Whether the source hands the body base64-encoded. AWS does for binary media types (REST), for
   * content it does not take for text (HTTP APIs, Function URLs, ALB); tests try both ways.
   */
  base64?: boolean;
}

export type Kind = 'rest' | 'http-api' | 'function-url' | 'alb' | 'alb-multi';
export const KINDS: Kind[] = ['rest', 'http-api', 'function-url', 'alb', 'alb-multi'];

export const WEBHOOK_PATH = '/webhooks/ittybit';
const TIME_EPOCH = 1_764_430_000_000;

/** What the request's body looks like in the event: base64 text, or the UTF-8 text AWS decoded. */
function bodyText(request: HttpRequest): string | null {
  const { body } = request;
  if (body === undefined) return null;
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  if (request.base64) return Buffer.from(bytes).toString('base64');
  // AWS keeps a leading byte-order mark as U+FEFF; TextDecoder drops it unless told not to.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

function headerList(request: HttpRequest): [string, string][] {
  const given = request.headers ?? [];
  const has = (name: string) => given.some(([n]) => n.toLowerCase() === name.toLowerCase());
  // What the AWS front adds, unless the client sent it.
  const added: [string, string][] = [
    ['Host', 'abc123.example.com'],
    ['User-Agent', 'ittybit-webhooks/1.0'],
    ['X-Amzn-Trace-Id', 'Root=1-5e66d96f-7491f09xmpl79d18acf3d050'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Proto', 'https'],
  ];
  const list = [...added.filter(([name]) => !has(name)), ...given];
  const body = request.body;
  if (body !== undefined && !has('content-length')) {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    list.push(['Content-Length', String(size)]);
  }
  return list;
}

/** `headers` (last value of each name) and `multiValueHeaders` (all values), names as given. */
function single(list: [string, string][], lower: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of list) out[lower ? name.toLowerCase() : name] = value;
  return out;
}

function multi(list: [string, string][], lower: boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of list) {
    const key = lower ? name.toLowerCase() : name;
    const values = out[key] ?? [];
    values.push(value);
    out[key] = values;
  }
  return out;
}

/** HTTP APIs and Function URLs: lowercase names, repeated headers joined with commas. */
function joined(list: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of list) {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

/** API Gateway REST API, Lambda proxy integration, stage `prod`. */
export function restEvent(request: HttpRequest): APIGatewayProxyEvent {
  const method = request.method ?? 'POST';
  const path = request.path ?? WEBHOOK_PATH;
  const list = headerList(request);
  return {
    resource: path,
    path,
    httpMethod: method,
    headers: single(list, false),
    multiValueHeaders: multi(list, false),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: '1234567890',
      authorizer: null,
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'ittybit-webhooks/1.0',
        userArn: null,
      },
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTime: '29/Nov/2025:15:26:40 +0000',
      requestTimeEpoch: TIME_EPOCH,
      resourceId: '123456',
      resourcePath: path,
      stage: 'prod',
    },
    body: bodyText(request),
    isBase64Encoded: request.base64 === true,
  };
}

function v2Context(request: HttpRequest, domainName: string, routeKey: string, stage: string) {
  const method = request.method ?? 'POST';
  return {
    accountId: '123456789012',
    apiId: domainName.split('.')[0]!,
    domainName,
    domainPrefix: domainName.split('.')[0]!,
    http: {
      method,
      path: request.path ?? WEBHOOK_PATH,
      protocol: 'HTTP/1.1',
      sourceIp: '203.0.113.7',
      userAgent: 'ittybit-webhooks/1.0',
    },
    requestId: 'JKJaXmPLvHcESHA=',
    routeKey,
    stage,
    time: '29/Nov/2025:15:26:40 +0000',
    timeEpoch: TIME_EPOCH,
  };
}

/** API Gateway HTTP API, payload format 2.0, `$default` stage unless `stage` is given. */
export function httpApiEvent(request: HttpRequest, stage = '$default'): APIGatewayProxyEventV2 {
  const path = request.path ?? WEBHOOK_PATH;
  const rawPath = stage === '$default' ? path : `/${stage}${path}`;
  const body = bodyText(request);
  const routeKey = `${request.method ?? 'POST'} ${WEBHOOK_PATH}`;
  const context = v2Context(
    request,
    'r3pmxmplak.execute-api.us-east-2.amazonaws.com',
    routeKey,
    stage,
  );
  context.http.path = rawPath;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: joined(headerList(request)),
    requestContext: context,
    ...(body === null ? {} : { body }),
    isBase64Encoded: request.base64 === true,
  };
}

/** A Lambda Function URL (same payload format 2.0, `$default` route, its own request context). */
export function functionUrlEvent(request: HttpRequest): LambdaFunctionURLEvent {
  const body = bodyText(request);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path ?? WEBHOOK_PATH,
    rawQueryString: '',
    headers: joined(headerList(request)),
    requestContext: v2Context(
      request,
      'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-west-2.on.aws',
      '$default',
      '$default',
    ),
    ...(body === null ? {} : { body }),
    isBase64Encoded: request.base64 === true,
  };
}

/** An Application Load Balancer target; `multiValue` is the target group's attribute. */
export function albEvent(request: HttpRequest, multiValue = false): ALBEvent {
  const list = headerList(request);
  const base = {
    requestContext: {
      elb: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a',
      },
    },
    httpMethod: request.method ?? 'POST',
    path: request.path ?? WEBHOOK_PATH,
    body: bodyText(request) ?? '',
    isBase64Encoded: request.base64 === true,
  };
  return multiValue
    ? { ...base, multiValueQueryStringParameters: {}, multiValueHeaders: multi(list, true) }
    : { ...base, queryStringParameters: {}, headers: single(list, true) };
}

/** The event of `kind` for `request`. */
export function eventFor(kind: Kind, request: HttpRequest) {
  switch (kind) {
    case 'rest':
      return restEvent(request);
    case 'http-api':
      return httpApiEvent(request);
    case 'function-url':
      return functionUrlEvent(request);
    case 'alb':
      return albEvent(request);
    case 'alb-multi':
      return albEvent(request, true);
  }
}

/** True when `value` is the event object a handler got as `ctx.request` for this kind. */
export function isEventOf(kind: Kind, value: unknown): boolean {
  const event = value as Record<string, unknown> & { requestContext?: Record<string, unknown> };
  if (typeof event !== 'object' || event === null) return false;
  switch (kind) {
    case 'rest':
      return typeof event.httpMethod === 'string' && event.requestContext?.stage === 'prod';
    case 'http-api':
      return event.version === '2.0' && String(event.routeKey).startsWith('POST');
    case 'function-url':
      return event.version === '2.0' && event.routeKey === '$default';
    case 'alb':
      return 'elb' in (event.requestContext ?? {}) && 'headers' in event;
    case 'alb-multi':
      return 'elb' in (event.requestContext ?? {}) && 'multiValueHeaders' in event;
  }
}

/** An answer as the client would see it. */
export interface SeenAnswer {
  status: number;
  /** Lowercase names. */
  headers: Record<string, string>;
  body: string;
}

const RESULT_KEYS: Record<Kind, string[]> = {
  rest: ['body', 'headers', 'isBase64Encoded', 'statusCode'],
  'http-api': ['body', 'headers', 'statusCode'],
  'function-url': ['body', 'headers', 'statusCode'],
  alb: ['body', 'headers', 'isBase64Encoded', 'statusCode', 'statusDescription'],
  'alb-multi': ['body', 'isBase64Encoded', 'multiValueHeaders', 'statusCode', 'statusDescription'],
};

/**
 * Checks that `result` has exactly the shape the source of `kind` reads, and turns it into what the
 * client sees (base64 bodies decoded, ALB's multi-value headers flattened).
 */
export function seen(kind: Kind, result: unknown): SeenAnswer {
  expect(Object.keys(result as object).sort(), `${kind} result fields`).toEqual(RESULT_KEYS[kind]);
  const typed = result as APIGatewayProxyResult &
    APIGatewayProxyStructuredResultV2 &
    ALBResult & { multiValueHeaders?: Record<string, string[]> };
  expect(typeof typed.statusCode).toBe('number');
  expect(typeof typed.body).toBe('string');
  if ('isBase64Encoded' in typed) expect(typed.isBase64Encoded).toBe(false);
  if (kind === 'alb' || kind === 'alb-multi') {
    expect(typed.statusDescription).toMatch(new RegExp(`^${typed.statusCode} [A-Z][A-Za-z ]+$`));
  }
  const headers: Record<string, string> = {};
  if (typed.multiValueHeaders) {
    for (const [name, values] of Object.entries(typed.multiValueHeaders)) {
      expect(Array.isArray(values)).toBe(true);
      headers[name.toLowerCase()] = values.join(', ');
    }
  } else {
    for (const [name, value] of Object.entries(typed.headers ?? {})) {
      expect(typeof value).toBe('string');
      headers[name.toLowerCase()] = String(value);
    }
  }
  return { status: typed.statusCode, headers, body: typed.body ?? '' };
}
