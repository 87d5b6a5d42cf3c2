/**
 * Prometheus metrics: every answered request is observed (operation, method, status, latency), the
 * feed's figures are read at scrape time, and GET /metrics serves the registry (not rate limited,
 * not in the API document).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { WebPluginOptions } from '../context.ts';
import { operationOf } from '../operation.ts';

async function metricsPlugin(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  const { metrics, feed, lifecycle } = ctx;
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observe(operationOf(req), req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  metrics.gauge('http_requests_in_flight', 'Requests received and not answered yet.', () => lifecycle.inFlight.size);
  metrics.gauge('web_event_polls_pending', 'Long-polls waiting on /v1/me/events on this instance.', () => feed.pending);
  metrics.counter('web_event_wakeups_local_total', 'Long-polls woken by a command committed on this instance.', () => feed.stats.wakeLocal);
  metrics.counter(
    'web_event_wakeups_store_total',
    'Long-polls woken by the periodic store check (other instances).',
    () => feed.stats.wakeStore,
  );
  metrics.counter(
    'web_event_wakeups_doorbell_total',
    'Long-polls woken by another instance\'s doorbell (Redis pub/sub).',
    () => feed.stats.wakeBell,
  );
  metrics.counter('web_events_pruned_total', 'Events deleted past retention.', () => feed.stats.pruned);

  app.get('/metrics', { config: { operation: 'metrics', rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.contentType).header('cache-control', 'no-store');
    return metrics.render();
  });
}

export default fp(metricsPlugin, { name: 'tdi-metrics', fastify: '5.x' });
