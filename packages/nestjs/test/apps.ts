// Real Nest apps for the tests: a service that handlers reach through dependency injection, a
// controller with an ordinary JSON route, and a boot function for each platform and each way an
// app is made (NestFactory in production, the testing module in users' e2e tests).
import 'reflect-metadata';
import type { CancelledTask, FailedTask, SucceededTask } from '@ittybit-webhooks/core';
import {
  Body,
  Controller,
  type DynamicModule,
  type INestApplication,
  Injectable,
  type LoggerService,
  Module,
  Post,
  Req,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

export const SECRET = 'whsec_nestjs_test';

export type Platform = 'express' | 'fastify';
export type Boot = 'NestFactory' | 'Test.createTestingModule';

export const platforms: Platform[] = ['express', 'fastify'];
export const boots: Boot[] = ['NestFactory', 'Test.createTestingModule'];

/** The app's own service: what the webhook handlers record into. */
@Injectable()
export class ExportsService {
  readonly ready: { id: string; url: string | undefined; request: unknown }[] = [];
  readonly failed: string[] = [];

  markReady(task: SucceededTask, request: unknown): void {
    this.ready.push({ id: task.id, url: task.output?.url, request });
  }

  markFailed(task: FailedTask | CancelledTask): void {
    this.failed.push(task.id);
  }
}

@Module({ providers: [ExportsService], exports: [ExportsService] })
export class ExportsModule {}

/** Another route of the app: echoes the parsed JSON body and whether a raw body was kept. */
@Controller('api')
export class ThingsController {
  @Post('things')
  create(@Body() body: unknown, @Req() request: { rawBody?: unknown }) {
    return { got: body, rawBody: request.rawBody !== undefined };
  }
}

/** The root module of a test app: the modules under test, the exports and a JSON route. */
export function appModule(...modules: (DynamicModule | Type)[]) {
  @Module({ imports: [ExportsModule, ...modules], controllers: [ThingsController] })
  class AppModule {}
  return AppModule;
}

/** A running app on 127.0.0.1. */
export interface RunningApp {
  app: INestApplication;
  /** e.g. `http://127.0.0.1:41234` */
  base: string;
  exports: ExportsService;
  close(): Promise<void>;
}

export interface BootOptions {
  logger?: LoggerService | false;
  /** Runs between creation and listen (`app.use`, `app.setGlobalPrefix`, ...). */
  configure?: (app: INestApplication) => void;
}

/** Creates the app on `platform` the `boot` way and listens on an ephemeral port. */
export async function start(
  platform: Platform,
  boot: Boot,
  root: ReturnType<typeof appModule>,
  { logger = false, configure }: BootOptions = {},
): Promise<RunningApp> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app =
    boot === 'NestFactory'
      ? await NestFactory.create(root, adapter, { logger, abortOnError: false })
      : (await Test.createTestingModule({ imports: [root] }).compile()).createNestApplication(
          adapter,
          { logger },
        );
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    base: `http://127.0.0.1:${address.port}`,
    exports: app.get(ExportsService),
    close: () => app.close(),
  };
}

/** A Nest logger that keeps what it was given, as `<level> [<context>] <message>`. */
export function capturingNestLogger(): LoggerService & { lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      const context = rest.length > 0 ? String(rest[rest.length - 1]) : '';
      lines.push(`${level} [${context}] ${String(message)}`);
    };
  return {
    lines,
    log: keep('log'),
    error: keep('error'),
    warn: keep('warn'),
    debug: keep('debug'),
    verbose: keep('verbose'),
  };
}
