/** GET /healthz: for load balancers and orchestrators (not rate limited, not in the API document). */
import type { FastifyInstance } from 'fastify';
import { DomainError, fail } from '../../shared/errors.ts';
import type { WebPluginOptions } from '../context.ts';

export default async function healthRoutes(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  app.get('/healthz', { config: { operation: 'healthz', rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    if (ctx.lifecycle.closing) fail('SHUTTING_DOWN', 'shutting down');
    if (ctx.lifecycle.draining) fail('SHUTTING_DOWN', 'draining: shutting down soon, still serving');
    reply.header('cache-control', 'no-store');
    let lastEventId: number;
    try {
      lastEventId = await ctx.domain.store.lastEventId();
    } catch (e) {
      // 503 with the reason (problem+json detail): the balancer takes this instance out until the store answers.
      if (e instanceof DomainError) throw e;
      fail('UNAVAILABLE', `store unavailable: ${(e as Error).message}`);
    }
    return { status: 'ok', store: ctx.domain.store.kind, lastEventId, pendingPolls: ctx.feed.pending };
  });
}
