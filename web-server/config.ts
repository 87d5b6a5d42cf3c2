/**
 * The web server's flags: the shared ones (store, rules, tokens, log level) plus its own (listener,
 * limits, event feed). Every flag has an environment variable; `--help` is generated from this table.
 */
import { commonFlags, parseFlags, type FlagSpecs, type FlagValues } from '../shared/config.ts';

export const webFlags = {
  host: { type: 'string', default: '127.0.0.1', env: 'WEB_HOST', help: 'interface to listen on' },
  port: { type: 'number', default: 8080, env: 'WEB_PORT', help: 'TCP port (0 = any free port; the start line prints the real one)' },
  ...commonFlags,
  bodyLimit: { type: 'number', default: 16384, env: 'BODY_LIMIT', help: 'largest accepted request body, bytes (413 above)' },
  rateLimit: {
    type: 'number',
    default: 600,
    env: 'RATE_LIMIT',
    help: 'requests per window per player (per IP when not logged in); 0 or --no-rate-limit turns every limit off',
  },
  rateLimitWindowMs: { type: 'number', default: 60_000, env: 'RATE_LIMIT_WINDOW_MS', help: 'rate limit window, ms' },
  loginRateLimit: {
    type: 'number',
    default: 30,
    env: 'LOGIN_RATE_LIMIT',
    help: 'player.login requests per window per IP (0 = only the general limit)',
  },
  trustProxy: {
    type: 'boolean',
    default: false,
    env: 'TRUST_PROXY',
    help: 'take the client IP from X-Forwarded-For (behind a reverse proxy)',
  },
  eventsMaxWaitMs: {
    type: 'number',
    default: 30_000,
    env: 'EVENTS_MAX_WAIT_MS',
    help: 'longest long-poll wait a client may ask for on /v1/me/events, ms',
  },
  eventsPollMs: {
    type: 'number',
    default: 50,
    env: 'EVENTS_POLL_MS',
    help: 'how often pending long-polls re-check the store for events written by other instances, ms (0 = only this instance wakes them)',
  },
  redisUrl: {
    type: 'string',
    default: '',
    env: 'REDIS_URL',
    help: 'redis://host:port shared by N instances: the event feed\'s doorbell and the rate limits\' counters (empty = this instance ' +
      'alone); with --shards also the cluster directory and bus (default there: redis://127.0.0.1:6379)',
  },
  redisPrefix: {
    type: 'string',
    default: 'tdi:',
    env: 'REDIS_PREFIX',
    help: 'prefix of every Redis key and pub/sub channel (instances of one deployment share it)',
  },
  eventsDoorbellPollMs: {
    type: 'number',
    default: 1000,
    env: 'EVENTS_DOORBELL_POLL_MS',
    help: 'with Redis connected, the store re-check is only a safety net for a missed doorbell: this often, ms',
  },
  eventsRetentionS: { type: 'number', default: 3600, env: 'EVENTS_RETENTION_S', help: 'events older than this are pruned, seconds' },
  eventsPruneMs: { type: 'number', default: 60_000, env: 'EVENTS_PRUNE_MS', help: 'how often old events are pruned, ms (0 = never)' },
  drainMs: {
    type: 'number',
    default: 0,
    env: 'DRAIN_MS',
    help: 'on SIGINT/SIGTERM, first answer /healthz 503 for this long while still serving everything else, so a load balancer ' +
      'takes the instance out before it stops accepting; ms (0 = stop accepting at once)',
  },
  shutdownTimeoutMs: {
    type: 'number',
    default: 10_000,
    env: 'SHUTDOWN_TIMEOUT_MS',
    help: 'on SIGINT/SIGTERM, wait this long for in-flight requests before exiting anyway, ms',
  },
  shards: {
    type: 'number',
    default: 0,
    env: 'GAME_SHARDS',
    help: 'the game cluster\'s size K: channel.list reads its directory and player pushes go to the shard holding the player (0 = none)',
  },
  clusterPrefix: { type: 'string', default: 'dinein', env: 'CLUSTER_PREFIX', help: 'with --shards: prefix of the cluster\'s Redis keys' },
  docs: { type: 'boolean', default: true, env: 'DOCS', help: 'serve the OpenAPI document at /docs/json and Swagger UI at /docs' },
} as const satisfies FlagSpecs;

export type WebConfig = FlagValues<typeof webFlags>;

export const WEB_USAGE = 'Usage: npm run web -- [options]   (or: npx tsx web-server/server.ts [options])';

/** `--no-rate-limit` is spelled like a boolean negation, but rateLimit is a number: rewrite it to `--rate-limit 0`. */
export function normalizeArgv(argv: readonly string[]): string[] {
  return argv.flatMap((a) => (a === '--no-rate-limit' ? ['--rate-limit', '0'] : [a]));
}

/** Defaults (+ environment) overridden by `over`: how tests and the benchmark get a config. */
export function webConfig(over: Partial<WebConfig> = {}, env: NodeJS.ProcessEnv = {}): WebConfig {
  const base = parseFlags(webFlags, [], env)!;
  return { ...base, ...over };
}
