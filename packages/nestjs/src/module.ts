import type { Metadata, Receiver, ReceiverOptions } from '@ittybit-webhooks/core';
import { mountPath, toReceiver } from '@ittybit-webhooks/core/adapter';
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  type FactoryProvider,
  Module,
  type ModuleMetadata,
  type OnModuleInit,
  type Provider,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { nestLogger } from './logger.js';
import { mountReceiver, whenAdapterReady } from './mount.js';

/** Where the route is served unless `path` says otherwise. */
export const DEFAULT_PATH = '/webhooks/ittybit';

/** Injection token of the module's options (what `forRoot` got or the factory returned). */
export const ITTYBIT_WEBHOOK_OPTIONS = 'ITTYBIT_WEBHOOK_OPTIONS';

/**
 * Injection token of the module's receiver (`@Inject(ITTYBIT_WEBHOOK_RECEIVER)`), for code that
 * wants `receiver.verify(...)` or `receiver.drain()`.
 */
export const ITTYBIT_WEBHOOK_RECEIVER = 'ITTYBIT_WEBHOOK_RECEIVER';

/** Where the route is mounted. */
export interface IttybitWebhookMount {
  /**
   * The route's full path (default `/webhooks/ittybit`). Nest's global prefix does not apply:
   * the route is served by the HTTP adapter itself, ahead of Nest's body parsers.
   */
  path?: string;
}

/**
 * The options of `IttybitWebhookModule.forRoot`, or what a `forRootAsync` factory returns: the
 * receiver's options (secret, handlers, idempotency, ...) and `path`; or a ready receiver
 * (`{ receiver: createReceiver({...}), path }`).
 *
 * `R` types `ctx.request`: Express' `Request` on platform-express, `FastifyRequest` on
 * platform-fastify.
 */
export type IttybitWebhookModuleOptions<M = Metadata, R = unknown> =
  | (ReceiverOptions<M, R> & IttybitWebhookMount & { receiver?: never })
  | (IttybitWebhookMount & { receiver: Receiver<M, R> });

/** A provider class that makes the options (`forRootAsync({ useClass })`). */
export interface IttybitWebhookOptionsFactory<M = Metadata, R = unknown> {
  createIttybitWebhookOptions():
    | IttybitWebhookModuleOptions<M, R>
    | Promise<IttybitWebhookModuleOptions<M, R>>;
}

// biome-ignore lint/suspicious/noExplicitAny: a factory's parameters are whatever `inject` lists.
type Injected = any[];

/** The options of `IttybitWebhookModule.forRootAsync`: exactly one of the `use*` ways. */
export interface IttybitWebhookModuleAsyncOptions<M = Metadata, R = unknown>
  extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options from injected providers (listed in `inject`). */
  useFactory?: (
    ...args: Injected
  ) => IttybitWebhookModuleOptions<M, R> | Promise<IttybitWebhookModuleOptions<M, R>>;
  /** What `useFactory` gets, in order. */
  inject?: FactoryProvider['inject'];
  /** A class (created by this module, with its own injections) whose method makes the options. */
  useClass?: Type<IttybitWebhookOptionsFactory<M, R>>;
  /** Like `useClass`, but an existing provider (from `imports`) is used. */
  useExisting?: Type<IttybitWebhookOptionsFactory<M, R>>;
  /** Extra providers for this module (e.g. what `useClass` injects, when not imported). */
  providers?: Provider[];
}

/** The receiver for the module's options, logging through Nest's logger by default. */
function receiverOf(options: IttybitWebhookModuleOptions<unknown, unknown>): Receiver {
  if (!options || typeof options !== 'object') {
    throw new TypeError(
      'IttybitWebhookModule: the options must be an object with `secret` and your handlers (or `receiver`).',
    );
  }
  if (options.receiver !== undefined) return toReceiver(options.receiver) as Receiver;
  const { path: _path, receiver: _receiver, ...receiverOptions } = options;
  return toReceiver({
    ...receiverOptions,
    logger: nestLogger(receiverOptions.logger),
  }) as Receiver;
}

/** Mounts the route when the HTTP adapter is there; drains background handlers on shutdown. */
class IttybitWebhookRoute implements OnModuleInit, BeforeApplicationShutdown {
  private readonly failure: () => unknown;

  constructor(
    host: HttpAdapterHost,
    private readonly receiver: Receiver,
    path: string,
  ) {
    this.failure = whenAdapterReady(host, (adapter) =>
      mountReceiver(adapter, receiver as Receiver<never, never>, path),
    );
  }

  onModuleInit(): void {
    const failure = this.failure();
    if (failure) throw failure;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.receiver.drain();
  }
}

/** The providers every form of the module has, given the options provider. */
function moduleOf(
  optionsProvider: Provider,
  extra: { imports?: ModuleMetadata['imports']; providers?: Provider[] } = {},
): DynamicModule {
  return {
    module: IttybitWebhookModule,
    imports: extra.imports ?? [],
    providers: [
      ...(extra.providers ?? []),
      optionsProvider,
      {
        provide: ITTYBIT_WEBHOOK_RECEIVER,
        useFactory: receiverOf,
        inject: [ITTYBIT_WEBHOOK_OPTIONS],
      },
      {
        provide: IttybitWebhookRoute,
        useFactory: (
          host: HttpAdapterHost,
          receiver: Receiver,
          options: IttybitWebhookModuleOptions<unknown, unknown>,
        ) => new IttybitWebhookRoute(host, receiver, mountPath(options) ?? DEFAULT_PATH),
        inject: [HttpAdapterHost, ITTYBIT_WEBHOOK_RECEIVER, ITTYBIT_WEBHOOK_OPTIONS],
      },
    ],
    exports: [ITTYBIT_WEBHOOK_RECEIVER],
  };
}

/**
 * Receives Ittybit webhooks in a Nest app, on platform-express or platform-fastify: a route at
 * `path` that reads the exact body bytes (the app keeps `rawBody` off and its other routes keep
 * parsing JSON), checks the signature, drops duplicates and calls your handlers.
 *
 * ```ts
 * @Module({
 *   imports: [
 *     IttybitWebhookModule.forRootAsync({
 *       imports: [ExportsModule],
 *       inject: [ExportsService],
 *       useFactory: (exports: ExportsService) => ({
 *         secret: process.env.ITTYBIT_WEBHOOK_SECRET,
 *         onSucceeded: (task) => exports.markReady(task),
 *         onFailed: (task) => exports.markFailed(task),
 *       }),
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class with static forRoot methods.
export class IttybitWebhookModule {
  /** The module with options given inline (no injected services). */
  static forRoot<M = Metadata, R = unknown>(
    options: IttybitWebhookModuleOptions<M, R>,
  ): DynamicModule {
    return moduleOf({ provide: ITTYBIT_WEBHOOK_OPTIONS, useValue: options });
  }

  /**
   * The module with options made by a factory or a provider class, so handlers can use injected
   * services (`inject: [ExportsService], useFactory: (exports) => ({ onSucceeded: ... })`).
   */
  static forRootAsync<M = Metadata, R = unknown>(
    options: IttybitWebhookModuleAsyncOptions<M, R>,
  ): DynamicModule {
    const ways = [options?.useFactory, options?.useClass, options?.useExisting].filter(
      (way) => way !== undefined,
    );
    if (ways.length !== 1) {
      throw new TypeError(
        'IttybitWebhookModule.forRootAsync: give exactly one of useFactory, useClass or useExisting.',
      );
    }
    const extra = { imports: options.imports, providers: [...(options.providers ?? [])] };
    if (options.useFactory) {
      return moduleOf(
        {
          provide: ITTYBIT_WEBHOOK_OPTIONS,
          useFactory: options.useFactory,
          inject: options.inject ?? [],
        },
        extra,
      );
    }
    const factoryClass = (options.useClass ?? options.useExisting)!;
    if (options.useClass) extra.providers.push({ provide: factoryClass, useClass: factoryClass });
    return moduleOf(
      {
        provide: ITTYBIT_WEBHOOK_OPTIONS,
        useFactory: (factory: IttybitWebhookOptionsFactory<M, R>) =>
          factory.createIttybitWebhookOptions(),
        inject: [factoryClass],
      },
      extra,
    );
  }
}

// Applied as a call rather than `@Module({})`, so this package needs no decorator compiler options.
Module({})(IttybitWebhookModule);
