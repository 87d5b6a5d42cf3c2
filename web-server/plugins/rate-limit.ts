/**
 * Rate limiting per player (bearer token) or, before login, per IP; off when config.rateLimit is 0.
 * player.login's stricter per-IP limit is set on its route (routes/commands.ts). Registered before the
 * routes: @fastify/rate-limit attaches itself to the routes added after it.
 *
 * One instance counts in its own memory. N instances behind a load balancer would then allow N times
 * the limit (each sees a third of a client's requests), so with --redis-url the counters live in
 * Redis, shared by every instance (one script call per request: INCR + PEXPIRE, atomic). Redis down:
 * the request goes through unlimited (skipOnError) rather than failing or waiting — a limiter outage
 * must not take the counter down with it; the limits apply again once Redis is back.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { DomainError } from '../../shared/errors.ts';
import { authOf } from '../auth.ts';
import type { RedisPluginOptions } from '../redis-link.ts';

async function rateLimits(app: FastifyInstance, { ctx, redis }: RedisPluginOptions): Promise<void> {
  const { config, runner } = ctx;
  if (config.rateLimit <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit,
    timeWindow: config.rateLimitWindowMs,
    ...(redis ? { redis: redis.cmd, nameSpace: `${redis.prefix}rl:`, skipOnError: true } : {}),
    keyGenerator: (req) => {
      const a = authOf(req, runner);
      return 'id' in a ? `p:${a.id}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req, c) => new DomainError('RATE_LIMITED', `rate limit exceeded (${c.max} per window), retry in ${c.after}`),
  });
}

export default fp(rateLimits, { name: 'tdi-rate-limit', fastify: '5.x' });
