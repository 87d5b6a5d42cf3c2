/**
 * What every part of the web app shares: the config, the domain (store, tokens, rules), the command
 * runner, the event feed, the metrics and the request lifecycle counters. Built once per app by
 * buildApp and handed to each plugin as an option (and to tests as `app.web`).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AsyncDomain, Domain } from '../shared/domain.ts';
import { CommandRunner, type DeliveredEvent } from '../shared/runner.ts';
import { AsyncCommandRunner, storedFeedInCommit } from '../shared/runner/async-runner.ts';
import type { ClusterView } from '../shared/cluster/cluster-view.ts';
import type { WebConfig } from './config.ts';
import { EventFeed } from './event-feed.ts';
import { Metrics } from './metrics.ts';

/** Requests seen and not answered yet, and whether close() has begun (kept by the lifecycle plugin). */
export class Lifecycle {
  closing = false;
  /** Before closing (--drain-ms): /healthz says 503 so the balancer stops sending; requests are still served. */
  draining = false;
  received = 0;
  /** Keyed by reply: at close, the ones not sent yet are told to close their connection. */
  readonly inFlight = new Set<FastifyReply>();
}

/** The synchronous runner (SQLite, memory) or the asynchronous one (PostgreSQL: every request awaits the store). */
export type WebRunner = CommandRunner | AsyncCommandRunner;

export interface WebContext {
  config: WebConfig;
  domain: Domain | AsyncDomain;
  runner: WebRunner;
  feed: EventFeed;
  metrics: Metrics;
  lifecycle: Lifecycle;
  /** False when the caller passed its own store (it keeps ownership: not closed with the app). */
  ownsStore: boolean;
  /** True from the start of close(): new requests get 503 SHUTTING_DOWN. */
  readonly closing: boolean;
  /** Requests received so far, and those not answered yet. */
  readonly received: number;
  readonly inFlight: number;
}

export type WebApp = FastifyInstance & { web: WebContext };

/** Plugin options: every plugin gets the context. */
export interface WebPluginOptions {
  ctx: WebContext;
}

/**
 * `ownsStore`: the app closes the store when it closes (false when the caller passed its own).
 * `cluster`: the game cluster's view when the web tier fronts shards (--shards).
 */
export function createWebContext(config: WebConfig, domain: Domain | AsyncDomain, ownsStore: boolean, cluster?: ClusterView): WebContext {
  const feed = new EventFeed({
    store: domain.store,
    pollMs: config.eventsPollMs,
    safetyPollMs: config.eventsDoorbellPollMs,
    retentionMs: config.eventsRetentionS * 1000,
    pruneMs: config.eventsPruneMs,
  });
  const onEvents = cluster
    ? (evs: DeliveredEvent[]) => {
        feed.onEvents(evs);
        cluster.onEvents(evs);
      }
    : feed.onEvents;
  const common = { tokens: domain.tokens, rules: domain.rules, hashCost: domain.hashCost, persistEvents: true, onEvents };
  // With shards on PostgreSQL, a shard caches its players' rows: the players a command wrote are
  // named to the shards before it answers (write notes). On SQLite a shard reads the row per command.
  const onWritten = cluster?.wrote;
  const runner =
    domain.store.kind === 'postgres'
      ? new AsyncCommandRunner({ ...common, store: domain.store, realtime: storedFeedInCommit, onWritten })
      : new CommandRunner({ ...common, store: domain.store, realtime: 'store', channelListing: cluster ? () => cluster.listing() : undefined });
  const lifecycle = new Lifecycle();
  return {
    config,
    domain,
    runner,
    feed,
    metrics: new Metrics(),
    lifecycle,
    ownsStore,
    get closing() {
      return lifecycle.closing;
    },
    get received() {
      return lifecycle.received;
    },
    get inFlight() {
      return lifecycle.inFlight.size;
    },
  };
}
