/**
 * Start a cluster of K shard processes (and optionally the web tier) on one machine: used by
 * `npm run shards`, the shard tests, the session-count load script and lab 12. Shard 0 starts
 * first and alone (it runs the migrations and settles the token secret in the shared database:
 * the SQLite file, or the PostgreSQL database with `store: 'postgres'`);
 * the others then start together.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnServer } from '../../loadgen/procs/child.ts';
import { parseStartLine, type StartLine } from '../../shared/start-line.ts';

export interface ClusterOptions {
  shards: number;
  /** The SQLite file every process shares (with store 'sqlite', the default). */
  dbPath: string;
  /** 'postgres': every shard and the web tier on the one PostgreSQL database at dbUrl. */
  store?: 'sqlite' | 'postgres';
  dbUrl?: string;
  redisUrl: string;
  prefix: string;
  host?: string;
  /** Base game port: shard i listens on base+i (0: any free port for each). */
  basePort?: number;
  /** Extra flags for every shard (e.g. --io uring, --hash-cost 4, --lease-ms 1500). */
  shardArgs?: string[];
  /** Also start the web tier on this port (-1: no web tier). */
  webPort?: number;
  webArgs?: string[];
  /** Node flags for every child. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** Child output lines (stderr), e.g. for a log. */
  onLog?: (who: string, line: string) => void;
}

export interface Child {
  name: string;
  proc: ChildProcess;
  start: StartLine;
  /** host:port */
  addr: string;
  adminPort: number | null;
  exited: Promise<number | null>;
  stderr: string[];
}

export class Cluster {
  readonly shards: (Child | null)[] = [];
  web: Child | null = null;

  constructor(readonly opts: ClusterOptions) {}

  private shardArgv(i: number): string[] {
    const o = this.opts;
    const port = o.basePort ? o.basePort + i : 0;
    return [
      'game-server/server.ts',
      ...['--host', o.host ?? '127.0.0.1', '--port', String(port), '--admin-port', '0'],
      ...['--shards', String(o.shards), '--shard-id', String(i), '--redis-url', o.redisUrl, '--cluster-prefix', o.prefix],
      ...this.storeArgv(),
      ...(o.shardArgs ?? []),
    ];
  }

  /** The one database of the cluster, for every shard and the web tier. */
  private storeArgv(): string[] {
    const o = this.opts;
    if (o.store === 'postgres') {
      if (!o.dbUrl) throw new Error('a cluster on --store postgres needs --db-url');
      return ['--store', 'postgres', '--db-url', o.dbUrl];
    }
    return ['--db-path', o.dbPath];
  }

  async start(): Promise<this> {
    this.shards.length = this.opts.shards;
    await this.startShard(0);
    // All settled before a failure is thrown, so stop() then finds every shard that did start.
    const rest = await Promise.allSettled(Array.from({ length: this.opts.shards - 1 }, (_, k) => this.startShard(k + 1)));
    const bad = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    if ((this.opts.webPort ?? -1) >= 0) {
      const o = this.opts;
      this.web = await this.child('web', [
        'web-server/server.ts',
        ...['--host', o.host ?? '127.0.0.1', '--port', String(o.webPort), ...this.storeArgv()],
        ...['--shards', String(o.shards), '--redis-url', o.redisUrl, '--cluster-prefix', o.prefix, ...(o.webArgs ?? [])],
      ]);
    }
    return this;
  }

  /** (Re)start shard i. */
  async startShard(i: number): Promise<Child> {
    const c = await this.child(`shard ${i}`, this.shardArgv(i));
    this.shards[i] = c;
    return c;
  }

  /** kill -9 shard i (no goodbye: its lease lapses, its players' entries read as dead). */
  async kill(i: number): Promise<void> {
    const c = this.shards[i];
    if (!c) return;
    c.proc.kill('SIGKILL');
    await c.exited;
    this.shards[i] = null;
  }

  async stop(): Promise<void> {
    const all = [...this.shards, this.web].filter((c): c is Child => !!c);
    await Promise.all(
      all.map(async (c) => {
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
        const t = setTimeout(() => c.proc.kill('SIGKILL'), 8000);
        await c.exited;
        clearTimeout(t);
      }),
    );
  }

  /** One child through the project's one process starter (loadgen/procs/child.ts: start line, die-with-parent guard). */
  private async child(name: string, argv: string[]): Promise<Child> {
    const stderr: string[] = [];
    const s = await spawnServer({
      name,
      entry: argv[0],
      args: argv.slice(1),
      nodeArgs: this.opts.nodeArgs,
      timeoutMs: this.opts.startTimeoutMs ?? 60_000,
      ownGroup: true,
      onStderrLine: (line) => {
        stderr.push(line);
        if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
        this.opts.onLog?.(name, line);
      },
    });
    const start = parseStartLine(s.banner)!;
    const admin = /:(\d+)$/.exec(start.details.admin ?? '');
    return { name, proc: s.proc, start, addr: `${start.host}:${start.port}`, adminPort: admin ? Number(admin[1]) : null, exited: s.exited, stderr };
  }
}
