/**
 * With Redis (--redis-url): the event feed rings the other instances after each commit, and wakes its
 * polls when they ring (../doorbell.ts). Without Redis nothing changes: the feed's store re-check
 * every --events-poll-ms is how events from other instances are seen.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Doorbell } from '../doorbell.ts';
import type { RedisPluginOptions } from '../redis-link.ts';

async function doorbellPlugin(app: FastifyInstance, { ctx, redis }: RedisPluginOptions): Promise<void> {
  if (!redis) return;
  const { feed, metrics } = ctx;
  const bell = new Doorbell(redis, feed.onRing, () => {
    feed.bellChanged();
    app.log.info({ live: bell.live }, bell.live ? 'event doorbell up (redis)' : 'event doorbell down: polls re-check the store');
  });
  feed.attachBell(bell);
  metrics.gauge('web_event_doorbell_up', '1 while the Redis doorbell subscription is up, else 0.', () => (bell.live ? 1 : 0));
  metrics.counter('web_event_doorbell_published_total', 'Doorbell messages published.', () => bell.stats.published);
  metrics.counter('web_event_doorbell_lost_total', 'Doorbell messages that could not be published.', () => bell.stats.publishFailed);
  metrics.counter('web_event_doorbell_heard_total', 'Doorbell messages heard from other instances.', () => bell.stats.heard);
  app.addHook('onClose', async () => {
    bell.close();
    await redis.close();
  });
}

export default fp(doorbellPlugin, { name: 'tdi-doorbell', fastify: '5.x' });
