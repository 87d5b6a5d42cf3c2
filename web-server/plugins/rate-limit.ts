/**
 * Rate limiting per player (bearer token) or, before login, per IP; off when config.rateLimit is 0.
 * player.login's stricter per-IP limit is set on its route (routes/commands.ts). Registered before the
 * routes: @fastify/rate-limit attaches itself to the routes added after it.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { DomainError } from '../../shared/errors.ts';
import { authOf } from '../auth.ts';
import type { WebPluginOptions } from '../context.ts';

async function rateLimits(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  const { config, runner } = ctx;
  if (config.rateLimit <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit,
    timeWindow: config.rateLimitWindowMs,
    keyGenerator: (req) => {
      const a = authOf(req, runner);
      return 'id' in a ? `p:${a.id}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, c) => new DomainError('RATE_LIMITED', `rate limit exceeded (${c.max} per window), retry in ${c.after}`),
  });
}

export default fp(rateLimits, { name: 'tdi-rate-limit', fastify: '5.x' });
