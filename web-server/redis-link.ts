/**
 * The web server's connections to Redis, when `--redis-url` is given: what N instances must share at
 * once and the store is too slow (or too coarse) for — the event feed's doorbell and the rate limits'
 * counters. Redis holds nothing that would be lost: a restart costs a little latency (the feed falls
 * back to its store re-check) and resets the rate-limit windows.
 *
 * Two connections: a connection in subscribe mode can do nothing else.
 *  - `cmd` (PUBLISH, the rate limit's script) never queues while disconnected: a request must not
 *    wait for Redis to come back, the caller decides what a failure means (a lost ring, a request let
 *    through unlimited).
 *  - `sub` (the doorbell's SUBSCRIBE) reconnects and subscribes again by itself.
 * Both retry the connection every ≤ 1 s, so a restarted Redis is found again within a second.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { WebPluginOptions } from './context.ts';

export interface RedisLink {
  cmd: Redis;
  sub: Redis;
  /** Prefix of every key and channel (--redis-prefix). */
  prefix: string;
  close(): Promise<void>;
}

/** Options of plugins that use Redis when it is configured. */
export interface RedisPluginOptions extends WebPluginOptions {
  redis: RedisLink | null;
}

const retryStrategy = (times: number) => Math.min(50 * times, 1000);

export function openRedisLink(url: string, prefix: string, log: FastifyBaseLogger): RedisLink {
  const base: RedisOptions = { retryStrategy, connectTimeout: 2000, lazyConnect: false };
  const cmd = new Redis(url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, connectionName: 'tdi-cmd' });
  const sub = new Redis(url, { ...base, enableOfflineQueue: true, autoResubscribe: true, connectionName: 'tdi-sub' });
  // One log line per outage per connection, not one per retry.
  for (const [name, r] of [['cmd', cmd], ['sub', sub]] as const) {
    let down = false;
    r.on('error', (e: Error) => {
      if (!down) log.warn({ redis: name, err: e.message }, 'redis connection error (retrying)');
      down = true;
    });
    r.on('ready', () => {
      if (down) log.info({ redis: name }, 'redis connection back');
      down = false;
    });
  }
  let closed = false;
  return {
    cmd,
    sub,
    prefix,
    async close() {
      if (closed) return;
      closed = true;
      // quit() waits for a reply a dead Redis never sends: disconnect is enough, nothing is pending.
      cmd.disconnect();
      sub.disconnect();
    },
  };
}
