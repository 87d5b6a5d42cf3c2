/**
 * The cluster suite (cluster-suite.ts) on PostgreSQL: the web tier and the three shards on one
 * database of their own. The cases whose outcome depends on the store (claims and the fence,
 * moving through the store, the caches against cross-process writes, kill -9 and the audit);
 * channel.list and the Redis wipe do not touch the store and run in cluster.test.ts only.
 */
import { clusterSuite } from './cluster-suite.ts';

clusterSuite('postgres', ['move', 'kick', 'race', 'fence', 'fence-no-kick', 'bus-give', 'web-give', 'web-buy', 'kill']);
