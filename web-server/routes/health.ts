/** GET /healthz: for load balancers and orchestrators (not rate limited, not in the API document). */
import type { FastifyInstance } from 'fastify';
import { fail } from '../../shared/errors.ts';
import type { WebPluginOptions } from '../context.ts';

export default async function healthRoutes(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  app.get('/healthz', { config: { operation: 'healthz', rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    if (ctx.lifecycle.closing) fail('SHUTTING_DOWN', 'shutting down');
    if (ctx.lifecycle.draining) fail('SHUTTING_DOWN', 'draining: shutting down soon, still serving');
    reply.header('cache-control', 'no-store');
    return { status: 'ok', store: ctx.domain.store.kind, lastEventId: ctx.domain.store.lastEventId(), pendingPolls: ctx.feed.pending };
  });
}
