/**
 * OpenTelemetry for ittybit-webhooks: a span per delivery, the handler as its child span, and
 * metrics of deliveries by outcome, handler duration and handlers in flight.
 *
 * ```ts
 * import { otelTelemetry } from '@ittybit-webhooks/otel';
 * createReceiver({ secret, onSucceeded, onFailed, telemetry: otelTelemetry() });
 * ```
 *
 * `@opentelemetry/api` is an optional peer dependency: importing this package loads nothing;
 * `otelTelemetry()` loads the API when it is called, and throws a clear error when it is not
 * installed.
 */
import { createRequire } from 'node:module';
import type { DeliveryOutcome, DeliveryProbe, Telemetry } from '@ittybit-webhooks/core';
import type {
  Attributes,
  Context,
  Counter,
  Histogram,
  Meter,
  Span,
  Tracer,
  UpDownCounter,
} from '@opentelemetry/api';

type OtelApi = typeof import('@opentelemetry/api');

/** The instrumentation scope of the default tracer and meter. */
export const INSTRUMENTATION_NAME = '@ittybit-webhooks/otel';

/** Names of the spans, metrics and attributes this package records. */
export const NAMES = {
  /** The span of one request to the webhook endpoint (kind SERVER). */
  deliverySpan: 'ittybit.webhook.delivery',
  /** The handler's span, a child of the delivery's, active while the handler runs. */
  handlerSpan: 'ittybit.webhook.handler',
  /** Counter: requests by outcome, status and topic. */
  deliveries: 'ittybit.webhook.deliveries',
  /** Histogram: how long handlers ran, in milliseconds, by topic and result. */
  handlerDuration: 'ittybit.webhook.handler.duration',
  /** Up-down counter: handlers running now, by topic. */
  handlersActive: 'ittybit.webhook.handler.active',
} as const;

/** Attribute keys (spans and metrics). */
export const ATTRIBUTES = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  status: 'http.response.status_code',
  errorType: 'error.type',
  topic: 'ittybit.webhook.topic',
  eventId: 'ittybit.webhook.event_id',
  id: 'ittybit.webhook.id',
  outcome: 'ittybit.webhook.outcome',
  duplicate: 'ittybit.webhook.duplicate',
  key: 'ittybit.webhook.key',
  /** On the handler duration: `ok`, or `error` when the handler threw or rejected. */
  result: 'ittybit.webhook.handler.result',
} as const;

/** Options of {@link otelTelemetry}. */
export interface OtelTelemetryOptions {
  /** Where spans go (default: the global tracer provider's tracer `@ittybit-webhooks/otel`). */
  tracer?: Tracer;
  /** Where metrics go (default: the global meter provider's meter `@ittybit-webhooks/otel`). */
  meter?: Meter;
}

// The SpanKind and SpanStatusCode values of the API (stable numbers of the specification).
const SPAN_KIND_SERVER = 1;
const SPAN_KIND_INTERNAL = 0;
const STATUS_ERROR = 2;

const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** Handler durations in ms: from a quick database write to the sender's ~5 s request budget. */
const DURATION_BUCKETS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** Loads `@opentelemetry/api` from beside this package, or throws saying how to install it. */
function loadApi(): OtelApi {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'MODULE_NOT_FOUND') {
      throw new Error(
        'otelTelemetry() needs @opentelemetry/api, which is not installed: npm install @opentelemetry/api (and an OpenTelemetry SDK to export what it records).',
        { cause: error },
      );
    }
    throw error;
  }
}

interface Instruments {
  deliveries: Counter;
  duration: Histogram;
  active: UpDownCounter;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * A {@link Telemetry} for `createReceiver({ telemetry })` on OpenTelemetry:
 *
 * - a span `ittybit.webhook.delivery` (kind SERVER) per request, a child of the active span (the
 *   HTTP server span of your instrumentation, when there is one), with `http.request.method`,
 *   `http.response.status_code` and the webhook's `ittybit.webhook.topic`, `.event_id`, `.id`,
 *   `.outcome` (the answer code), `.duplicate` and `.key`; status ERROR for a 5xx answer;
 * - a span `ittybit.webhook.handler` around your handler, active while it runs (your own spans
 *   nest under it), ended when its promise settles, ERROR with the exception when it throws;
 * - metrics: `ittybit.webhook.deliveries` (counter, by outcome, status and topic),
 *   `ittybit.webhook.handler.duration` (histogram, ms, by topic and result) and
 *   `ittybit.webhook.handler.active` (up-down counter: handlers running now).
 *
 * Loads `@opentelemetry/api` when called; throws when it is not installed. Register your SDK's
 * providers before the first delivery: instruments are created then, from the meter in force.
 */
export function otelTelemetry(options: OtelTelemetryOptions = {}): Telemetry {
  const api = loadApi();
  const tracer = options.tracer ?? api.trace.getTracer(INSTRUMENTATION_NAME);
  let instruments: Instruments | undefined;
  const metrics = (): Instruments => {
    if (instruments) return instruments;
    const meter = options.meter ?? api.metrics.getMeter(INSTRUMENTATION_NAME);
    instruments = {
      deliveries: meter.createCounter(NAMES.deliveries, {
        description: 'Requests to the webhook endpoint, by outcome (the answer code) and status.',
        unit: '{delivery}',
      }),
      duration: meter.createHistogram(NAMES.handlerDuration, {
        description: 'How long webhook handlers ran.',
        unit: 'ms',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
      active: meter.createUpDownCounter(NAMES.handlersActive, {
        description: 'Webhook handlers running now.',
        unit: '{handler}',
      }),
    };
    return instruments;
  };

  return {
    start({ method }): DeliveryProbe {
      const { deliveries, duration, active } = metrics();
      const upper = typeof method === 'string' ? method.toUpperCase() : '';
      const attributes: Attributes = KNOWN_METHODS.has(upper)
        ? { [ATTRIBUTES.method]: upper }
        : { [ATTRIBUTES.method]: '_OTHER', [ATTRIBUTES.methodOriginal]: String(method) };
      const parent: Context = api.context.active();
      const span: Span = tracer.startSpan(
        NAMES.deliverySpan,
        { kind: SPAN_KIND_SERVER, attributes },
        parent,
      );
      let ended = false;

      return {
        handler(run, info) {
          const topic = info.topic;
          const metricAttributes: Attributes = topic ? { [ATTRIBUTES.topic]: topic } : {};
          const delivery = api.trace.setSpan(parent, span);
          // A delivery not recorded (no SDK, or not sampled) gets no handler span: the handler
          // runs in the delivery span's context, so the spans it starts follow the same decision.
          const handlerSpan = span.isRecording()
            ? tracer.startSpan(
                NAMES.handlerSpan,
                {
                  kind: SPAN_KIND_INTERNAL,
                  attributes: info.key
                    ? { ...metricAttributes, [ATTRIBUTES.key]: info.key }
                    : metricAttributes,
                },
                delivery,
              )
            : undefined;
          const started = performance.now();
          active.add(1, metricAttributes);
          const settle = (error: unknown, failed: boolean) => {
            active.add(-1, metricAttributes);
            duration.record(performance.now() - started, {
              ...metricAttributes,
              [ATTRIBUTES.result]: failed ? 'error' : 'ok',
            });
            if (!handlerSpan) return;
            if (failed && handlerSpan.isRecording()) {
              if (error instanceof Error) handlerSpan.recordException(error);
              else handlerSpan.recordException(String(error));
              handlerSpan.setStatus({ code: STATUS_ERROR, message: describe(error) });
            }
            handlerSpan.end();
          };
          let result: ReturnType<typeof run>;
          try {
            result = api.context.with(
              handlerSpan ? api.trace.setSpan(delivery, handlerSpan) : delivery,
              run,
            );
          } catch (error) {
            settle(error, true);
            throw error;
          }
          const thenable = result as unknown as PromiseLike<unknown> | null;
          if (
            (typeof thenable === 'object' || typeof thenable === 'function') &&
            thenable !== null &&
            typeof thenable.then === 'function'
          ) {
            thenable.then(
              () => settle(undefined, false),
              (error) => settle(error, true),
            );
          } else {
            settle(undefined, false);
          }
          return result;
        },

        end(outcome: DeliveryOutcome) {
          if (ended) return;
          ended = true;
          const counted: Attributes = {
            [ATTRIBUTES.outcome]: outcome.code,
            [ATTRIBUTES.status]: outcome.status,
          };
          if (outcome.topic) counted[ATTRIBUTES.topic] = outcome.topic;
          deliveries.add(1, counted);
          // Not sampled, or no SDK: nothing reads the span's attributes.
          if (!span.isRecording()) {
            span.end();
            return;
          }

          const attributes: Attributes = {
            [ATTRIBUTES.status]: outcome.status,
            [ATTRIBUTES.outcome]: outcome.code,
            [ATTRIBUTES.duplicate]: outcome.duplicate,
          };
          if (outcome.topic) attributes[ATTRIBUTES.topic] = outcome.topic;
          if (outcome.eventId) attributes[ATTRIBUTES.eventId] = outcome.eventId;
          if (outcome.id) attributes[ATTRIBUTES.id] = outcome.id;
          if (outcome.key) attributes[ATTRIBUTES.key] = outcome.key;
          if (outcome.status >= 500) {
            attributes[ATTRIBUTES.errorType] = outcome.code;
            span.setStatus({ code: STATUS_ERROR, message: outcome.code });
            // A handler's exception is on its own span; a store's or the pipeline's goes here.
            if (outcome.error instanceof Error && outcome.code !== 'handler_failed') {
              span.recordException(outcome.error);
            }
          }
          span.setAttributes(attributes);
          span.end();
        },
      };
    },
  };
}
