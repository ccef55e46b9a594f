// otelTelemetry through a real receiver: node:http on 127.0.0.1 with @ittybit-webhooks/express,
// signed deliveries over the network, and the OpenTelemetry SDK's in-memory exporters.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IdempotencyStore, MemoryStore, type ReceiverOptions } from '@ittybit-webhooks/core';
import { createTestDelivery, createTestEvent } from '@ittybit-webhooks/core/testing';
import { ittybitWebhook } from '@ittybit-webhooks/express';
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  SamplingDecision,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otelTelemetry } from '../src/index.js';

const SECRET = 'whsec_otel_test';

const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
});
const tracer = tracerProvider.getTracer('test');
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
const meter = meterProvider.getMeter('test');

/** A store whose calls fail: the receiver answers 503 store_unavailable. */
const brokenStore: IdempotencyStore = {
  acquire: async () => {
    throw new Error('connection refused');
  },
  complete: async () => false,
  release: async () => false,
  extend: async () => false,
};

let inFlight: ((value: unknown) => void) | undefined;
let handlerStarted: (() => void) | undefined;

async function listen(options: Partial<ReceiverOptions>) {
  const middleware = ittybitWebhook(
    {
      secret: SECRET,
      logger: false,
      telemetry: otelTelemetry({ tracer, meter }),
      onSucceeded: async (task) => {
        // The user's own span: it must nest under the handler's span.
        await tracer.startActiveSpan('user.work', async (span) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          span.end();
        });
        if (task.metadata.hold === 'yes') {
          handlerStarted?.();
          await new Promise((resolve) => {
            inFlight = resolve;
          });
        }
      },
      onFailed: (task) => {
        if (task.metadata.throws === 'yes') throw new Error('database unavailable');
      },
      ...options,
    } as ReceiverOptions,
    { path: '/webhooks/ittybit' },
  );
  const server = http.createServer((req, res) => void middleware(req as never, res as never));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/ittybit`;
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function post(url: string, payload: object, headers: Record<string, string> = {}) {
  const delivery = await createTestDelivery(payload as never, SECRET);
  const res = await fetch(url, {
    method: 'POST',
    body: delivery.body,
    headers: { ...delivery.headers, ...headers },
  });
  await res.text();
  return res.status;
}

const deliveriesOf = () =>
  spans.getFinishedSpans().filter((s) => s.name === 'ittybit.webhook.delivery');
const handlersOf = () =>
  spans.getFinishedSpans().filter((s) => s.name === 'ittybit.webhook.handler');
const childrenOf = (parent: ReadableSpan) =>
  spans
    .getFinishedSpans()
    .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

async function collect() {
  metricExporter.reset();
  await reader.forceFlush();
  const metrics = metricExporter
    .getMetrics()
    .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  return (name: string) => metrics.find((m) => m.descriptor.name === name);
}

let receiver: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  receiver = await listen({});
});
afterAll(async () => {
  await receiver?.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  contextManager.disable();
});
afterEach(() => spans.reset());

describe('spans', () => {
  it('a delivery: a SERVER span with HTTP and webhook attributes, the handler its child, the user span under the handler', async () => {
    const event = createTestEvent('task.succeeded', { id: 'task_span_1' });
    expect(await post(receiver.url, event)).toBe(200);
    const [delivery] = deliveriesOf();
    expect(deliveriesOf()).toHaveLength(1);
    expect(delivery!.kind).toBe(SpanKind.SERVER);
    expect(delivery!.status.code).toBe(SpanStatusCode.UNSET);
    expect(delivery!.attributes).toEqual({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'ittybit.webhook.outcome': 'received',
      'ittybit.webhook.duplicate': false,
      'ittybit.webhook.topic': 'task.succeeded',
      'ittybit.webhook.event_id': event.id,
      'ittybit.webhook.id': 'task_span_1',
      'ittybit.webhook.key': event.id,
    });
    const [handler] = childrenOf(delivery!);
    expect(childrenOf(delivery!)).toHaveLength(1);
    expect(handler!.name).toBe('ittybit.webhook.handler');
    expect(handler!.kind).toBe(SpanKind.INTERNAL);
    expect(handler!.spanContext().traceId).toBe(delivery!.spanContext().traceId);
    expect(handler!.attributes).toEqual({
      'ittybit.webhook.topic': 'task.succeeded',
      'ittybit.webhook.key': event.id,
    });
    const [user] = childrenOf(handler!);
    expect(user!.name).toBe('user.work');
    // The handler span ends when the handler's promise settles: after the user's span, and
    // before the delivery's. The SDK anchors each span's clock to Date.now() (whole milliseconds)
    // when the span starts, so times of two spans compare only to within a millisecond.
    const ns = (t: [number, number]) => t[0] * 1e9 + t[1];
    const CLOCK = 1e6;
    expect(ns(handler!.endTime)).toBeGreaterThanOrEqual(ns(user!.endTime) - CLOCK);
    expect(ns(delivery!.endTime)).toBeGreaterThanOrEqual(ns(handler!.endTime) - CLOCK);
  });

  it('a duplicate: duplicate true, outcome duplicate, no handler span', async () => {
    const event = createTestEvent('task.succeeded');
    expect(await post(receiver.url, event)).toBe(200);
    spans.reset();
    expect(await post(receiver.url, event)).toBe(200);
    expect(deliveriesOf()).toHaveLength(1);
    expect(deliveriesOf()[0]!.attributes).toMatchObject({
      'http.response.status_code': 200,
      'ittybit.webhook.outcome': 'duplicate',
      'ittybit.webhook.duplicate': true,
      'ittybit.webhook.event_id': event.id,
    });
    expect(handlersOf()).toHaveLength(0);
  });

  it('a forged signature: 401 invalid_signature, nothing of the unverified body on the span, not an error', async () => {
    const event = createTestEvent('task.succeeded', { id: 'task_forged' });
    const status = await post(receiver.url, event, { 'ittybit-signature': 'ab'.repeat(32) });
    expect(status).toBe(401);
    const [delivery] = deliveriesOf();
    expect(delivery!.attributes).toEqual({
      'http.request.method': 'POST',
      'http.response.status_code': 401,
      'ittybit.webhook.outcome': 'invalid_signature',
      'ittybit.webhook.duplicate': false,
    });
    expect(delivery!.status.code).toBe(SpanStatusCode.UNSET);
    expect(handlersOf()).toHaveLength(0);
  });

  it('a GET: 405 method_not_allowed with http.request.method GET; an odd method is _OTHER', async () => {
    const res = await fetch(receiver.url);
    expect(res.status).toBe(405);
    expect(deliveriesOf()[0]!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 405,
      'ittybit.webhook.outcome': 'method_not_allowed',
    });
    spans.reset();
    const odd = await new Promise<number>((resolve, reject) => {
      const req = http.request(receiver.url, { method: 'PURGE' }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(odd).toBe(405);
    expect(deliveriesOf()[0]!.attributes).toMatchObject({
      'http.request.method': '_OTHER',
      'http.request.method_original': 'PURGE',
    });
  });

  it('a handler that throws: both spans ERROR, the exception on the handler span, error.type on the delivery', async () => {
    const event = createTestEvent('task.failed', { metadata: { throws: 'yes' } });
    expect(await post(receiver.url, event)).toBe(500);
    const [delivery] = deliveriesOf();
    expect(delivery!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'handler_failed' });
    expect(delivery!.attributes).toMatchObject({
      'http.response.status_code': 500,
      'ittybit.webhook.outcome': 'handler_failed',
      'error.type': 'handler_failed',
      'ittybit.webhook.topic': 'task.failed',
    });
    const [handler] = handlersOf();
    expect(handler!.parentSpanContext?.spanId).toBe(delivery!.spanContext().spanId);
    expect(handler!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'Error: database unavailable',
    });
    expect(handler!.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'database unavailable'],
    ]);
    expect(delivery!.events).toEqual([]);
  });

  it('a store that fails: 503 store_unavailable, the span ERROR with the exception', async () => {
    const broken = await listen({ idempotency: { store: brokenStore } });
    try {
      expect(await post(broken.url, createTestEvent('task.succeeded'))).toBe(503);
      const [delivery] = deliveriesOf();
      expect(delivery!.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'store_unavailable',
      });
      expect(delivery!.attributes['error.type']).toBe('store_unavailable');
      expect(delivery!.events.map((e) => e.name)).toEqual(['exception']);
      expect(handlersOf()).toHaveLength(0);
    } finally {
      await broken.close();
    }
  });

  it('the delivery span is a child of the span active when the request arrives', async () => {
    // As under an HTTP server instrumentation: the request is handled inside its span.
    const middleware = ittybitWebhook(
      {
        secret: SECRET,
        logger: false,
        telemetry: otelTelemetry({ tracer, meter }),
        onSucceeded: () => {},
        onFailed: () => {},
        idempotency: { store: new MemoryStore() },
      },
      { path: '/webhooks/ittybit' },
    );
    const server = http.createServer((req, res) =>
      tracer.startActiveSpan('http.server', (outer) => {
        res.on('finish', () => outer.end());
        void middleware(req as never, res as never);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/ittybit`;
      expect(await post(url, createTestEvent('task.succeeded'))).toBe(200);
      const outer = spans.getFinishedSpans().find((s) => s.name === 'http.server');
      expect(deliveriesOf()[0]!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('sampling', () => {
  it('a delivery not sampled: no spans, not even those its handler starts; still counted', async () => {
    const unsampled = new InMemorySpanExporter();
    // Roots are sampled, except the delivery's: were the user's span a root, it would be kept.
    const root = {
      shouldSample: (_context: unknown, _traceId: string, name: string) => ({
        decision:
          name === 'ittybit.webhook.delivery'
            ? SamplingDecision.NOT_RECORD
            : SamplingDecision.RECORD_AND_SAMPLED,
      }),
      toString: () => 'all but deliveries',
    };
    const provider = new BasicTracerProvider({
      sampler: new ParentBasedSampler({ root }),
      spanProcessors: [new SimpleSpanProcessor(unsampled)],
    });
    const own = provider.getTracer('unsampled');
    const before = await collect();
    const counted = (get: typeof before) =>
      ((get('ittybit.webhook.deliveries')?.dataPoints ?? []) as DataPoint<number>[])
        .filter((p) => p.attributes['ittybit.webhook.outcome'] === 'received')
        .reduce((sum, p) => sum + p.value, 0);
    let userSpanRecording: boolean | undefined;
    const middleware = ittybitWebhook(
      {
        secret: SECRET,
        logger: false,
        telemetry: otelTelemetry({ tracer: own, meter }),
        onSucceeded: () =>
          own.startActiveSpan('user.work', (span) => {
            userSpanRecording = span.isRecording();
            span.end();
          }),
        onFailed: () => {},
      },
      { path: '/webhooks/ittybit' },
    );
    const server = http.createServer((req, res) => void middleware(req as never, res as never));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/ittybit`;
      expect(await post(url, createTestEvent('task.succeeded'))).toBe(200);
      expect(userSpanRecording).toBe(false);
      expect(unsampled.getFinishedSpans()).toEqual([]);
      expect(counted(await collect()) - counted(before)).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.shutdown();
    }
  });
});

describe('metrics', () => {
  it('deliveries by outcome, status and topic; handler durations by result; handlers in flight', async () => {
    const own = await listen({});
    const before = await collect();
    const count = (outcome: string, status: number, topic?: string): number =>
      ((before('ittybit.webhook.deliveries')?.dataPoints ?? []) as DataPoint<number>[]).find(
        (p) =>
          p.attributes['ittybit.webhook.outcome'] === outcome &&
          p.attributes['http.response.status_code'] === status &&
          p.attributes['ittybit.webhook.topic'] === topic,
      )?.value ?? 0;
    const base = {
      received: count('received', 200, 'task.succeeded'),
      duplicate: count('duplicate', 200, 'task.succeeded'),
      forged: count('invalid_signature', 401),
      failed: count('handler_failed', 500, 'task.failed'),
    };
    try {
      const event = createTestEvent('task.succeeded');
      expect(await post(own.url, event)).toBe(200);
      expect(await post(own.url, event)).toBe(200);
      expect(await post(own.url, createTestEvent('task.succeeded'))).toBe(200);
      expect(await post(own.url, event, { 'ittybit-signature': '00'.repeat(32) })).toBe(401);
      expect(
        await post(own.url, createTestEvent('task.failed', { metadata: { throws: 'yes' } })),
      ).toBe(500);

      const after = await collect();
      const deliveries = after('ittybit.webhook.deliveries')!;
      expect(deliveries.descriptor.unit).toBe('{delivery}');
      const value = (outcome: string, status: number, topic?: string) =>
        deliveries.dataPoints.find(
          (p) =>
            p.attributes['ittybit.webhook.outcome'] === outcome &&
            p.attributes['http.response.status_code'] === status &&
            p.attributes['ittybit.webhook.topic'] === topic,
        )?.value;
      expect(value('received', 200, 'task.succeeded')).toBe(base.received + 2);
      expect(value('duplicate', 200, 'task.succeeded')).toBe(base.duplicate + 1);
      expect(value('invalid_signature', 401)).toBe(base.forged + 1);
      expect(value('handler_failed', 500, 'task.failed')).toBe(base.failed + 1);
      // A refused request carries no topic: unverified bytes never become attribute values.
      for (const point of deliveries.dataPoints) {
        if (point.attributes['http.response.status_code'] === 401) {
          expect(Object.keys(point.attributes).sort()).toEqual([
            'http.response.status_code',
            'ittybit.webhook.outcome',
          ]);
        }
      }

      const duration = after('ittybit.webhook.handler.duration')!;
      expect(duration.descriptor.unit).toBe('ms');
      const histogram = (result: string, topic: string) =>
        duration.dataPoints.find(
          (p) =>
            p.attributes['ittybit.webhook.handler.result'] === result &&
            p.attributes['ittybit.webhook.topic'] === topic,
        ) as DataPoint<Histogram> | undefined;
      const ok = histogram('ok', 'task.succeeded')!;
      expect(ok.value.count).toBeGreaterThanOrEqual(2);
      // The handlers of this receiver wait 5 ms for their own span.
      expect(ok.value.max).toBeGreaterThanOrEqual(4);
      expect(histogram('error', 'task.failed')!.value.count).toBeGreaterThanOrEqual(1);

      const active = () =>
        collect().then(
          (get) =>
            get('ittybit.webhook.handler.active')?.dataPoints.find(
              (p) => p.attributes['ittybit.webhook.topic'] === 'task.succeeded',
            )?.value,
        );
      expect(await active()).toBe(0);
      const started = new Promise<void>((resolve) => {
        handlerStarted = resolve;
      });
      const held = post(own.url, createTestEvent('task.succeeded', { metadata: { hold: 'yes' } }));
      await started;
      expect(await active()).toBe(1);
      inFlight?.(undefined);
      expect(await held).toBe(200);
      expect(await active()).toBe(0);
    } finally {
      await own.close();
    }
  });
});

describe('defaults', () => {
  it('without tracer and meter: the global providers, scope @ittybit-webhooks/otel, even when registered after otelTelemetry()', async () => {
    const telemetry = otelTelemetry();
    // Registered after the receiver is created, as an app that builds its router first would.
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    const own = await listen({ telemetry });
    try {
      expect(await post(own.url, createTestEvent('task.failed'))).toBe(200);
      const [delivery] = deliveriesOf();
      expect(delivery!.instrumentationScope.name).toBe('@ittybit-webhooks/otel');
      expect(delivery!.attributes['ittybit.webhook.topic']).toBe('task.failed');
      expect(handlersOf()[0]!.instrumentationScope.name).toBe('@ittybit-webhooks/otel');
      const get = await collect();
      const scopes = metricExporter
        .getMetrics()
        .flatMap((r) => r.scopeMetrics)
        .filter((s) => s.scope.name === '@ittybit-webhooks/otel')
        .flatMap((s) => s.metrics.map((m) => m.descriptor.name));
      expect(scopes.sort()).toEqual([
        'ittybit.webhook.deliveries',
        'ittybit.webhook.handler.active',
        'ittybit.webhook.handler.duration',
      ]);
      expect(get('ittybit.webhook.deliveries')).toBeDefined();
    } finally {
      await own.close();
      trace.disable();
      metrics.disable();
    }
  });
});
