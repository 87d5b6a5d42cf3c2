/**
 * Game-server flags (generated --help): the shared commonFlags plus the dine-in restaurant's own.
 */
import { commonFlags, type FlagSpecs, type FlagValues } from '../shared/config.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../shared/protocol/frame.ts';
import { IO_CHOICES } from './io/select-backend.ts';

export const gameFlags = {
  host: { type: 'string', default: '127.0.0.1', env: 'GAME_HOST', help: 'address to listen on' },
  port: { type: 'number', default: 7777, env: 'GAME_PORT', help: 'TCP port (0 = any free port; the start line prints the real one)' },
  ...commonFlags,
  io: {
    type: 'string',
    default: 'auto',
    choices: IO_CHOICES,
    env: 'GAME_IO',
    help: 'completion-port backend (native ones fall back to libuv when they cannot start)',
  },
  workers: {
    type: 'number',
    default: 1,
    env: 'GAME_WORKERS',
    help: 'completion worker threads, each with its own port and sessions, all on the same TCP port (SO_REUSEPORT; iocp: one accepts and hands off)',
  },
  concurrency: {
    type: 'number',
    default: 1,
    env: 'GAME_CONCURRENCY',
    help: "threads per port allowed to run completions at once (IOCP's NumberOfConcurrentThreads; libuv supports 1)",
  },
  maxUsers: {
    type: 'number',
    default: 10000,
    env: 'MAX_USERS',
    help: 'concurrent connections across all workers; one more gets SERVER_FULL and is closed',
  },
  heartbeatMs: {
    type: 'number',
    default: 30000,
    env: 'HEARTBEAT_MS',
    help: 'a connection that sends no frame for this long is closed (clients ping)',
  },
  maxFrameBytes: {
    type: 'number',
    default: DEFAULT_MAX_FRAME_BYTES,
    env: 'MAX_FRAME_BYTES',
    help: 'largest frame payload accepted (bytes after the 4-byte prefix)',
  },
  sendQueueSoft: {
    type: 'number',
    default: 256 * 1024,
    env: 'SEND_QUEUE_SOFT',
    help: 'per-connection send queue (bytes) above which droppable pushes (channel.moved) are dropped',
  },
  sendQueueHard: {
    type: 'number',
    default: 4 * 1024 * 1024,
    env: 'SEND_QUEUE_HARD',
    help: 'per-connection send queue (bytes) above which the connection is dropped',
  },
  resumeGraceMs: {
    type: 'number',
    default: 30000,
    env: 'RESUME_GRACE_MS',
    help: 'a disconnected session stays parked this long for session.resume',
  },
  resumeBuffer: {
    type: 'number',
    default: 256,
    env: 'RESUME_BUFFER',
    help: 'pushes kept for a parked session (more are counted as dropped)',
  },
  adminHost: { type: 'string', default: '127.0.0.1', env: 'ADMIN_HOST', help: 'address of the admin HTTP port (/metrics, /healthz)' },
  adminPort: { type: 'number', default: 0, env: 'ADMIN_PORT', help: 'admin HTTP port (0 = any free port, printed on start; -1 = none)' },
  trace: {
    type: 'boolean',
    default: false,
    env: 'GAME_TRACE',
    help: 'record the completion-port timeline (GET /trace on the admin port drains it)',
  },
  shards: {
    type: 'number',
    default: 0,
    env: 'GAME_SHARDS',
    help: 'cluster size K: this process is one of K shards owning a share of the channels (0 = not sharded; docs/shards.md)',
  },
  shardId: { type: 'number', default: 0, env: 'GAME_SHARD_ID', help: 'this shard\'s number, 0..K-1 (with --shards)' },
  redisUrl: {
    type: 'string',
    default: 'redis://127.0.0.1:6379',
    env: 'REDIS_URL',
    help: 'with --shards: Redis holding the cluster directory and carrying the bus',
  },
  advertiseHost: {
    type: 'string',
    default: '',
    env: 'ADVERTISE_HOST',
    help: 'with --shards: the host clients reach this shard at, published in the directory (empty: --host)',
  },
  clusterPrefix: { type: 'string', default: 'dinein', env: 'CLUSTER_PREFIX', help: 'with --shards: prefix of every Redis key and channel' },
  leaseMs: {
    type: 'number',
    default: 5000,
    env: 'SHARD_LEASE_MS',
    help: "with --shards: a shard's lease in the directory (refreshed every third of it); its players read as offline once it lapses",
  },
  shutdownMs: {
    type: 'number',
    default: 2000,
    env: 'SHUTDOWN_MS',
    help: 'graceful shutdown: how long to wait for clients to take their last bytes',
  },
} as const satisfies FlagSpecs;

export type GameConfig = FlagValues<typeof gameFlags>;

export const USAGE =
  'usage: tsx game-server/server.ts [options]\n\n' +
  'The dine-in restaurant: a stateful binary TCP game server over the shared command table (docs/game-server.md).';
