/**
 * The takeout counter: a stateless Fastify app over the shared command table. Each request carries
 * everything needed (bearer token, idempotency key, cursor); all state is in the store, so any number
 * of instances on one store serve any client interchangeably.
 *
 * buildApp(config) is what tests use (inject, or listen on port 0); server.ts adds flags, the start
 * line and signal handling. Each concern is a plugin of its own; this file is the order they are
 * registered in.
 */
import Fastify from 'fastify';
import { openAsyncDomain, openDomain } from '../shared/domain.ts';
import type { AsyncStore } from '../shared/store/async-store.ts';
import type { Store } from '../shared/store/store.ts';
import type { WebConfig } from './config.ts';
import { createWebContext, type WebApp } from './context.ts';
import doorbell from './plugins/doorbell.ts';
import { ClusterView } from '../shared/cluster/cluster-view.ts';
import lifecycle from './plugins/lifecycle.ts';
import metrics from './plugins/metrics.ts';
import openapi from './plugins/openapi.ts';
import problems, { problemServerOptions } from './plugins/problems.ts';
import rateLimit from './plugins/rate-limit.ts';
import { openRedisLink } from './redis-link.ts';
import commandRoutes from './routes/commands.ts';
import eventRoutes from './routes/events.ts';
import healthRoutes from './routes/health.ts';
import { validatorCompiler } from './validator.ts';

export type { WebApp, WebContext } from './context.ts';

export interface BuildOptions {
  /** Use this store instead of opening one from config (the caller keeps ownership: not closed on app close). */
  store?: Store | AsyncStore;
  /** Fastify logger option override (default: pino at config.logLevel). */
  logger?: boolean | { level: string };
}

export async function buildApp(config: WebConfig, opts: BuildOptions = {}): Promise<WebApp> {
  let cluster: ClusterView | undefined;
  if (config.shards > 0) {
    cluster = new ClusterView(config);
    await cluster.start();
  }
  const given = opts.store;
  const domain =
    given?.kind === 'postgres' || (!given && config.store === 'postgres')
      ? await openAsyncDomain(config, given as AsyncStore | undefined)
      : openDomain(config, given as Store | undefined);
  const ctx = createWebContext(config, domain, !given, cluster);
  if (cluster && domain.store.kind === 'postgres') {
    const n = cluster.notes.counters;
    ctx.metrics.counter('web_write_notes_published_total', 'Write notes published to the shards (one per event-loop turn with writes).', () => n.published);
    ctx.metrics.counter('web_write_notes_players_total', 'Players named in write notes.', () => n.players);
    ctx.metrics.counter('web_write_notes_failed_total', 'Write notes that could not be published in time (shards may read stale copies).', () => n.failed);
  }
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    // We answer requests that arrive on kept-alive connections during close ourselves (problem+json 503).
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false } },
    ...problemServerOptions(ctx),
  });
  app.decorate('web', ctx);
  app.decorateRequest('tdiAuth', null);
  // TypeBox's compiler for the shared schemas: bodies are checked as sent (no coercion), querystring,
  // params and headers are converted from strings first (validator.ts).
  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies: anything else is 415 rather than a string that fails validation.
  app.removeContentTypeParser('text/plain');

  await app.register(problems, { ctx });
  await app.register(lifecycle, { ctx });
  await app.register(openapi, { ctx });
  // Shared by N instances when configured: the feed's doorbell and the rate limits' counters.
  const redis = config.redisUrl ? openRedisLink(config.redisUrl, config.redisPrefix, app.log) : null;
  await app.register(doorbell, { ctx, redis });
  await app.register(rateLimit, { ctx, redis });
  await app.register(metrics, { ctx });
  await app.register(commandRoutes, { ctx });
  await app.register(eventRoutes, { ctx });
  await app.register(healthRoutes, { ctx });
  if (cluster) app.addHook('onClose', () => cluster.stop());

  await app.ready();
  return app as unknown as WebApp;
}
