/** The compare's flags (declarative, shared/config.ts): `npx tsx loadgen/compare.ts --help`. */
import { IO_CHOICES } from '../game-server/io/select-backend.ts';
import type { FlagSpecs } from '../shared/config.ts';
import { DEFAULT_ITEMS_MIX } from './workloads/items.ts';
import { WORKLOAD_SUMMARIES } from './workloads/index.ts';

export const compareFlags = {
  workload: {
    type: 'string', default: 'ping,read,items,quests,realtime', env: 'LG_WORKLOAD',
    help: 'workloads to run, comma-separated: ping, read, items, quests, realtime, sessions (or "all")'
  },
  targets: { type: 'string', default: 'web,game', env: 'LG_TARGETS', help: 'servers to run against: web, game (comma-separated)' },
  floors: {
    type: 'boolean', default: true, env: 'LG_FLOORS',
    help: 'also run the ladder of floors (bare Fastify, + token, + store; bare TCP, + durable writes) for ping/read/items/quests'
  },
  rounds: {
    type: 'number', default: 3, env: 'LG_ROUNDS',
    help: 'interleaved rounds (web, game, floors, again…): figures are the median and min–max over rounds'
  },
  duration: { type: 'number', default: 5, env: 'LG_DURATION', help: 'measured seconds per workload, target and round' },
  amount: { type: 'number', default: 0, env: 'LG_AMOUNT', help: 'measure this many operations instead of a duration (request workloads)' },
  warmup: { type: 'number', default: 1, env: 'LG_WARMUP', help: 'warm-up seconds before each measured window (not counted)' },
  players: { type: 'number', default: 50, env: 'LG_PLAYERS', help: 'virtual players = connections, for ping/read/items/quests' },
  depth: {
    type: 'number', default: 1, env: 'LG_DEPTH',
    help: 'operations in flight per connection (HTTP pipelining, TCP in-flight) for read/items/quests'
  },
  pingDepth: { type: 'number', default: 16, env: 'LG_PING_DEPTH', help: 'operations in flight per connection for ping' },
  rate: {
    type: 'number', default: 0, env: 'LG_RATE',
    help: 'fixed total rate in ops/s (0 = closed loop); latency is measured from the intended send time'
  },
  threads: { type: 'number', default: 1, env: 'LG_THREADS', help: 'TCP driver worker threads (connections are spread over them)' },
  seed: { type: 'number', default: 1, env: 'LG_SEED', help: 'scenario seed' },
  mix: { type: 'string', default: DEFAULT_ITEMS_MIX, env: 'LG_MIX', help: 'items workload op weights' },
  channelSize: { type: 'number', default: 100, env: 'LG_CHANNEL_SIZE', help: 'realtime: players per channel (K)' },
  channels: { type: 'number', default: 1, env: 'LG_CHANNELS', help: 'realtime: channels' },
  movesPerSec: { type: 'number', default: 10, env: 'LG_MOVES_PER_SEC', help: 'realtime: moves per second per player (R)' },
  feed: {
    type: 'string', default: 'long-poll', choices: ['long-poll', 'poll'], env: 'LG_FEED',
    help: 'realtime on HTTP: how the event feed is read'
  },
  pollIntervalMs: {
    type: 'number', default: 100, env: 'LG_POLL_INTERVAL_MS', help: 'realtime on HTTP with --feed poll: pause between polls, ms'
  },
  longPollWaitMs: {
    type: 'number', default: 10000, env: 'LG_LONG_POLL_WAIT_MS', help: 'realtime on HTTP with --feed long-poll: waitMs per poll'
  },
  sessions: {
    type: 'number', default: 20000, env: 'LG_SESSIONS', help: 'sessions: concurrent game sessions to open (capped by the fd limit)'
  },
  httpSessions: {
    type: 'number', default: 5000, env: 'LG_HTTP_SESSIONS', help: 'sessions: concurrent keep-alive HTTP connections to open'
  },
  sessionConcurrency: { type: 'number', default: 200, env: 'LG_SESSION_CONCURRENCY', help: 'sessions: connects in progress at once' },
  heartbeatS: { type: 'number', default: 10, env: 'LG_HEARTBEAT_S', help: 'sessions: heartbeat (ping) interval per session, seconds' },
  shards: {
    type: 'number', default: 0, env: 'LG_SHARDS',
    help: 'sessions: run the game as K shard processes (Redis directory) and spread the sessions over them (loadgen/shards/sessions.ts)'
  },
  holdS: { type: 'number', default: 3, env: 'LG_HOLD_S', help: 'sessions: hold every session open this long before reading RSS' },
  settleS: {
    type: 'number', default: 60, env: 'LG_SETTLE_S',
    help: 'sessions with --shards: longest wait for a shard\'s RSS to stop falling before each reading (a quick check: 5)'
  },
  store: {
    type: 'string', default: 'sqlite', choices: ['sqlite', 'memory', 'postgres'], env: 'LG_STORE',
    help: 'store kind of both servers (sqlite: a temp file each; postgres: a database each on --db-url\'s server, dropped after the run)'
  },
  dbUrl: {
    type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test', env: 'LG_DB_URL',
    help: '--store postgres: a database on the PostgreSQL server to connect to for CREATE DATABASE (each server gets its own)'
  },
  io: {
    type: 'string', default: 'auto', choices: IO_CHOICES, env: 'LG_IO', help: 'game server I/O backend (--io)'
  },
  workers: { type: 'number', default: 1, env: 'LG_WORKERS', help: 'game server completion workers (--workers)' },
  gameArgs: {
    type: 'string', default: '', env: 'LG_GAME_ARGS',
    help: 'more flags for the game server, space-separated (e.g. "--channel-capacity 50 --max-frame-bytes 4096"); they come last and win'
  },
  webArgs: {
    type: 'string', default: '', env: 'LG_WEB_ARGS', help: 'more flags for the web server, space-separated; they come last and win'
  },
  hashCost: {
    type: 'number', default: 4, env: 'LG_HASH_COST', help: 'log2 scrypt cost passed to both servers (low: logins are setup, not load)'
  },
  channelsPerPlace: {
    type: 'number', default: 4, env: 'LG_CHANNELS_PER_PLACE', help: 'passed to both servers; realtime needs channels ≤ 4 × this'
  },
  webInstances: {
    type: 'number', default: 0, env: 'LG_WEB_INSTANCES',
    help: 'also run the web workloads through HAProxy: target web-lb1 (1 instance: the balancer\'s own cost) and web-lbN (N instances ' +
      'on one store, Redis for the feed\'s doorbell); 0 = no load balancer'
  },
  webUrl: {
    type: 'string', default: '', env: 'LG_WEB_URL',
    help: 'load a web server already running at this URL (http://host:port) instead of starting one'
  },
  gameAddr: {
    type: 'string', default: '', env: 'LG_GAME_ADDR', help: 'load a game server already running at host:port instead of starting one'
  },
  webDbPath: {
    type: 'string', default: '', env: 'LG_WEB_DB_PATH',
    help: 'with --web-url: the running web server\'s SQLite file, for the ledger audit after the run'
  },
  webDbUrl: {
    type: 'string', default: '', env: 'LG_WEB_DB_URL',
    help: 'with --web-url: the running web servers\' PostgreSQL database (postgres://…), for the ledger audit after the run'
  },
  gameDbPath: {
    type: 'string', default: '', env: 'LG_GAME_DB_PATH',
    help: 'with --game-addr: the running game server\'s SQLite file, for the ledger audit after the run'
  },
  lightClient: {
    type: 'boolean', default: true, env: 'LG_LIGHT_CLIENT',
    help: 'realtime: also measure game push delivery with the C epoll client (needs cc), reported as target gameC'
  },
  json: { type: 'string', default: '', env: 'LG_JSON', help: 'write the full results as JSON to this file' },
  html: { type: 'string', default: '', env: 'LG_HTML', help: 'write a self-contained HTML report (SVG charts) to this file' },
  progress: { type: 'boolean', default: false, env: 'LG_PROGRESS', help: 'progress on stderr even when it is not a TTY' },
  cpuProf: {
    type: 'boolean', default: false, env: 'LG_CPU_PROF', help: 'run the servers with --cpu-prof (profiles in the run directory, kept)'
  },
  keep: { type: 'boolean', default: false, env: 'LG_KEEP', help: 'keep the run directory (stores, profiles) and print its path' },
  quiet: { type: 'boolean', default: false, env: 'LG_QUIET', help: 'do not print the table' },
} as const satisfies FlagSpecs;

export const COMPARE_USAGE = `Usage: npx tsx loadgen/compare.ts [options]   (npm run compare -- [options])
Starts the web server, the game server and the ladder of floors as child processes on temp stores,
runs the same seeded workloads against each in interleaved rounds, and prints one table of ops/s,
latency, bytes and server CPU per op (median and min–max over rounds), the ladder of floors and the
attribution of the game/web ratio to its parts. Every run is bounded by --duration or --amount.
With --web-url / --game-addr it loads servers already running instead (no floors, no server CPU).

Workloads:
${Object.entries(WORKLOAD_SUMMARIES)
  .map(([name, summary]) => `  ${name.padEnd(10)} ${summary}`)
  .join('\n')}`;
