/**
 * `npm run compare -- --web-instances N`: beside the web server the compare starts on its own
 * (target `web`, clients straight to it), two more targets run the same workloads through HAProxy:
 *  - `web-lb1`: ONE instance behind HAProxy — against `web`, the load balancer's own cost (the
 *    extra hop: a parse, a forward, a process on the same cores);
 *  - `web-lbN`: N instances behind HAProxy on one store — against `web-lb1`, what scaling out buys.
 * Each has its own store (a SQLite file, or the PostgreSQL the compare was given) so the ledger
 * audit covers each, its own Redis (the doorbell and the shared limits, as deployed), and its server
 * CPU is the sum over every process of the topology, split afterwards by component: instances,
 * HAProxy, Redis — where the time goes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from '../drivers/driver.ts';
import { sampleProc } from '../procs/child.ts';
import { fmtNum } from '../report/table.ts';
import { ratio, type TargetFigures } from '../report/figures.ts';
import { startCluster, type Cluster } from './topology.ts';

export const isLbTarget = (name: string) => /^web-lb\d+$/.test(name);

export function lbTargetNames(webInstances: number): string[] {
  if (webInstances <= 0) return [];
  return webInstances === 1 ? ['web-lb1'] : ['web-lb1', `web-lb${webInstances}`];
}

/** CPU ms per component of one topology, taken around a driver call. */
type Components = Record<string, number[]>;

export interface LbComponentShare {
  /** Component → share of the topology's CPU over the driver call (login, warm-up and window). */
  share: Record<string, number>;
  /** Component → µs per op (share × the window's measured server CPU per op). */
  usPerOp: Record<string, number | null>;
}

export class LbTargets {
  readonly clusters: Record<string, Cluster> = {};
  /** Per workload and target: the component split of the last call. */
  readonly split: Record<string, Record<string, LbComponentShare>> = {};
  constructor(
    readonly names: string[],
    private readonly o: {
      store: string;
      /** --store postgres: the database of each target. */
      dbUrlOf?: (name: string) => string | undefined;
      dir: string;
      webArgs: string[];
      nodeArgs?: (name: string, i: number) => string[];
    },
  ) {}

  /** Start every topology (one after the other: each waits for HAProxy to see its instances UP). */
  async start(say: (s: string) => void): Promise<void> {
    for (const name of this.names) {
      const n = Number(name.slice('web-lb'.length));
      mkdirSync(join(this.o.dir, name), { recursive: true });
      this.clusters[name] = await startCluster({
        web: n,
        store: this.o.store,
        dbPath: this.o.store === 'sqlite' ? this.dbPath(name) : undefined,
        dbUrl: this.o.dbUrlOf?.(name),
        redis: 'own',
        webArgs: this.o.webArgs,
        nodeArgs: this.o.nodeArgs ? (i) => this.o.nodeArgs!(name, i) : undefined,
        dir: join(this.o.dir, name),
      });
      const c = this.clusters[name];
      say(`  ${name}: haproxy ${c.url} -> ${c.instances.map((s) => `${s.name} :${s.port} [pid ${s.pid}]`).join(', ')}; redis ${c.redisUrl}`);
    }
  }

  dbPath(name: string): string {
    return join(this.o.dir, `${name}.sqlite`);
  }

  target(name: string): Target {
    const c = this.clusters[name];
    return { name, transport: 'http', host: c.host, port: c.port, pids: this.components(name).flatMap(([, pids]) => pids) };
  }

  private components(name: string): [string, number[]][] {
    const c = this.clusters[name];
    return [
      ['instances', c.instances.map((s) => s.pid)],
      ['haproxy', [c.haproxy.proc.pid]],
      ...(c.redis ? [['redis', [c.redis.proc.pid]] as [string, number[]]] : []),
    ];
  }

  /** Run fn (one driver call against `name`) and record the CPU split of the topology over it. */
  async measure<T>(workload: string, name: string, fn: () => Promise<T>): Promise<T> {
    const sample = (): Components =>
      Object.fromEntries(this.components(name).map(([k, pids]) => [k, pids.map((p) => sampleProc(p).cpuMs)]));
    const before = sample();
    const out = await fn();
    const after = sample();
    const used: Record<string, number> = {};
    for (const k of Object.keys(after)) used[k] = after[k].reduce((a, v, i) => a + v - (before[k]?.[i] ?? 0), 0);
    const total = Object.values(used).reduce((a, v) => a + v, 0);
    const share = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, total > 0 ? v / total : 0]));
    (this.split[workload] ??= {})[name] = { share, usPerOp: {} };
    return out;
  }

  /** After figures exist: µs per op per component, and the note lines of the report. */
  notes(workload: string, figures: Record<string, TargetFigures>): string[] {
    const out: string[] = [];
    for (const [name, sp] of Object.entries(this.split[workload] ?? {})) {
      const perOp = figures[name]?.serverCpuUsPerOp ?? null;
      sp.usPerOp = Object.fromEntries(Object.entries(sp.share).map(([k, s]) => [k, perOp === null ? null : s * perOp]));
      const parts = Object.entries(sp.share).map(([k, s]) => `${k} ${Math.round(s * 100)}%` +
        (sp.usPerOp[k] === null ? '' : ` (${fmtNum(sp.usPerOp[k]!)} µs/op)`));
      out.push(`${name}: server CPU by component: ${parts.join(', ')}`);
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.clusters).map((c) => c.stop()));
  }
}

/** The load balancer's cost and what N instances buy, from one round's figures. */
export function lbRatios(figures: Record<string, TargetFigures>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const web = figures.web;
  const lb1 = figures['web-lb1'];
  if (lb1) {
    out['web-lb1/web ops/s (HAProxy hop)'] = ratio(lb1.opsPerSec, web?.opsPerSec);
    out['web-lb1/web p99 (HAProxy hop)'] = ratio(lb1.latency.p99Us, web?.latency.p99Us);
    out['web-lb1/web server CPU per op'] = ratio(lb1.serverCpuUsPerOp, web?.serverCpuUsPerOp);
  }
  const n = Object.keys(figures).find((k) => isLbTarget(k) && k !== 'web-lb1');
  if (n && lb1) {
    out[`${n}/web-lb1 ops/s`] = ratio(figures[n].opsPerSec, lb1.opsPerSec);
    out[`${n}/web-lb1 p99`] = ratio(figures[n].latency.p99Us, lb1.latency.p99Us);
  }
  return out;
}
