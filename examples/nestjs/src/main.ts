// npm run build:app, then: ITTYBIT_WEBHOOK_SECRET=whsec_test PORT=3000 npm start
// (NEST_PLATFORM=fastify for platform-fastify)
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';

async function bootstrap() {
  if (!process.env.ITTYBIT_WEBHOOK_SECRET) {
    throw new Error('Set ITTYBIT_WEBHOOK_SECRET to your Ittybit webhook secret.');
  }
  const platform = process.env.NEST_PLATFORM === 'fastify' ? 'fastify' : 'express';
  // Nest's defaults: body parsing on, rawBody off. The webhook route reads its own bytes.
  const app = await NestFactory.create(
    AppModule,
    platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
  );
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`Listening on http://127.0.0.1:${port}/webhooks/ittybit (platform-${platform})`);
}

bootstrap();
