/**
 * Lab 11 (docs/labs/11-more-counters.md), the parts a throughput table cannot show: N web instances
 * behind HAProxy (loadgen/cluster/topology.ts) with their own Redis, and
 *  1. the feed waking across instances: a watcher long-polls on instance 2 while a mover moves on
 *     instance 1; the lag from the move's answer to the poll's answer, with the Redis doorbell up,
 *     then with Redis killed (the store re-check every --events-poll-ms is all that is left);
 *  2. an instance killed mid-run: players write through HAProxy, each write with its Idempotency-Key,
 *     retried with the same key when no answer comes; one instance gets SIGKILL. Completions per
 *     100 ms, what the clients saw, how long HAProxy took to take it out, and the ledger afterwards:
 *     every acknowledged write there once, nothing twice, the audit.
 *
 *   npx tsx scripts/labs/more-counters.ts --web 3 --out labs-out/11-failover.json
 */
import Database from 'better-sqlite3';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { audit } from '../../shared/ledger/audit.ts';
import { Rng } from '../../shared/rng.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { startCluster, type Cluster } from '../../loadgen/cluster/topology.ts';
import { machine, round, sleep, writeJson } from './lib.ts';

const flags = {
  web: { type: 'number', default: 3, help: 'web instances behind HAProxy' },
  players: { type: 'number', default: 12, help: 'players writing through HAProxy at once (one write in flight each)' },
  seconds: { type: 'number', default: 6, help: 'length of the write run, seconds' },
  killAfterMs: { type: 'number', default: 2500, help: 'SIGKILL the last instance this long into the write run' },
  wakeRounds: { type: 'number', default: 20, help: 'feed wake-ups measured with the doorbell up, and again with Redis down' },
  pollMs: { type: 'number', default: 50, help: 'the instances\' store re-check when the doorbell is down (--events-poll-ms)' },
  out: { type: 'string', default: '', help: 'also write the results as JSON here' },
} as const satisfies FlagSpecs;
const f = cliFlags('usage: npx tsx scripts/labs/more-counters.ts [options]\n\nThe feed across instances, and an instance killed mid-run.', flags);
if (f.web < 2 || f.web > 8 || f.players < 1 || f.players > 100 || f.seconds < 1 || f.seconds > 60 || f.killAfterMs >= f.seconds * 1000) {
  process.stderr.write('more-counters: --web 2..8, --players 1..100, --seconds 1..60, --kill-after-ms below the run\n');
  process.exit(2);
}
const say = (s: string) => process.stdout.write(`${s}\n`);
const ITEM = 'potion_small';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several commands, read loosely
type Body = any;

async function call(base: string, method: string, path: string, token?: string, body?: unknown, key?: string): Promise<{ status: number;
  body: Body }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers['idempotency-key'] = key;
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000) });
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) };
  } catch {
    return { status: r.status, body: text };
  }
}
const login = async (base: string, name: string) => {
  const r = await call(base, 'POST', '/v1/sessions', undefined, { name, password: 'lab11-pw' });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status}`);
  return r.body as { playerId: number; token: string };
};
const gauge = async (base: string, name: string) => {
  const t = await (await fetch(`${base}/metrics`)).text();
  const l = t.split('\n').find((x) => x.startsWith(`${name} `));
  return l ? Number(l.split(' ')[1]) : NaN;
};
async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(25);
  }
  return false;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))], 1) : null;
};
const lagSummary = (xs: number[]) => ({ n: xs.length, medianMs: pct(xs, 50), p90Ms: pct(xs, 90), maxMs: pct(xs, 100) });
const url = (c: Cluster, i: number) => `http://${c.instances[i].host}:${c.instances[i].port}`;

/** Rounds of: watcher parks a long-poll on B, mover moves on A; lag from the move's answer to the poll's. */
async function wakeLags(c: Cluster, rounds: number, mover: { token: string }, watcher: { token: string }): Promise<number[]> {
  const A = url(c, 0);
  const B = url(c, 1);
  let cursor = (await call(B, 'GET', '/v1/me/events', watcher.token)).body.cursor as number;
  const lags: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const pending = call(B, 'GET', `/v1/me/events?after=${cursor}&waitMs=5000`, watcher.token).then((r) => ({ r, at: performance.now() }));
    await until(async () => (await gauge(B, 'web_event_polls_pending')) >= 1, 5000);
    // Off the store re-check's beat: a move right after a tick would flatter the fallback.
    await sleep(7 + ((i * 13) % 40));
    await call(A, 'POST', '/v1/me/channel/moves', mover.token, { x: i % 50, y: 2, tag: i });
    const t = performance.now();
    const { r, at } = await pending;
    cursor = r.body.cursor;
    lags.push(Math.max(0, at - t));
  }
  return lags;
}

interface Failover {
  acked: Set<string>;
  refused: number;
  resentOps: number;
  sends: number;
  retriedStatuses: Record<string, number>;
  unresolved: number;
  /** Completions per 100 ms from the start of the run. */
  timeline: number[];
}

async function writeRun(c: Cluster, players: { name: string; playerId: number; token: string }[], victim: number): Promise<Failover &
  { killToDownMs: number }> {
  const r: Failover = { acked: new Set(), refused: 0, resentOps: 0, sends: 0, retriedStatuses: {}, unresolved: 0, timeline: [] };
  const t0 = performance.now();
  const done = () => {
    const b = Math.floor((performance.now() - t0) / 100);
    r.timeline[b] = (r.timeline[b] ?? 0) + 1;
  };
  let stop = false;
  const rng = new Rng(11);
  const loops = players.map(async (p, i) => {
    const mine = new Rng(rng.int(0, 2 ** 31));
    const partner = players[(i + 1) % players.length];
    for (let n = 0; n < 1_000_000 && !stop; n++) {
      const x = mine.next();
      const key = `lab11-${p.playerId}-${n}`;
      const [path, body] = x < 0.5 ? [`/v1/me/items/${ITEM}/give`, { qty: 1, to: partner.name }] : x < 0.75 ? [`/v1/shop/${ITEM}/buy`,
        { qty: 1 }] : [`/v1/shop/${ITEM}/sell`, { qty: 1 }];
      let resolved = false;
      for (let attempt = 0; attempt < 60 && !resolved; attempt++) {
        if (attempt === 1) r.resentOps++;
        if (attempt > 0) await sleep(50);
        r.sends++;
        let status: number | string;
        try {
          status = (await call(c.url, 'POST', path, p.token, body, key)).status;
        } catch (e) {
          status = (e as Error).name;
        }
        if (status === 200 || (typeof status === 'number' && status < 500)) {
          if (status === 200) r.acked.add(key);
          else r.refused++;
          resolved = true;
          done();
        } else r.retriedStatuses[status] = (r.retriedStatuses[status] ?? 0) + 1;
      }
      if (!resolved) r.unresolved++;
    }
  });
  await sleep(f.killAfterMs);
  const killedAt = performance.now();
  c.instances[victim].proc.kill('SIGKILL');
  await c.haproxy.waitStates([c.serverName(victim)], 'DOWN', 20_000);
  const killToDownMs = round(performance.now() - killedAt, 0);
  await sleep(Math.max(0, f.seconds * 1000 - (performance.now() - t0)));
  stop = true;
  await Promise.all(loops);
  for (let i = 0; i < r.timeline.length; i++) r.timeline[i] ??= 0;
  return { ...r, killToDownMs };
}

interface LedgerCheck {
  lost: number;
  unacked: number;
  twice: number;
  auditOk: boolean;
  problems: string[];
}

function ledgerCheck(path: string, acked: Set<string>): LedgerCheck {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare(`SELECT op_id AS o, COUNT(*) AS n FROM ledger WHERE op_id LIKE 'lab11-%' GROUP BY op_id`).all() as {
    o: string; n: number }[];
  db.close();
  const have = new Map(rows.map((x) => [x.o, x.n]));
  const store = new SqliteStore({ path });
  const a = audit(store);
  store.close();
  return {
    lost: [...acked].filter((k) => !have.has(k)).length,
    unacked: rows.filter((x) => !acked.has(x.o)).length,
    twice: rows.filter((x) => x.n !== 2).length,
    auditOk: a.ok,
    problems: a.problems.slice(0, 5),
  };
}

let ok = false;
let result: Record<string, unknown> = {};
const c = await startCluster({ web: f.web, store: 'sqlite', redis: 'own', webArgs: ['--hash-cost', '4', '--no-rate-limit', '--events-poll-ms',
  String(f.pollMs)], log: say });
try {
  say(`cluster: ${c.url}, ${f.web} instances, redis ${c.redisUrl}`);
  const mover = await login(url(c, 0), 'lab11-mover');
  const watcher = await login(url(c, 1), 'lab11-watcher');
  await call(url(c, 0), 'PUT', '/v1/me/channel', mover.token, { channel: 'town-4' });
  await call(url(c, 1), 'PUT', '/v1/me/channel', watcher.token, { channel: 'town-4' });
  await until(async () => (await gauge(url(c, 1), 'web_event_doorbell_up')) === 1, 10_000);
  const withBell = await wakeLags(c, f.wakeRounds, mover, watcher);
  await c.redis!.kill();
  await until(async () => (await gauge(url(c, 1), 'web_event_doorbell_up')) === 0, 10_000);
  const withoutBell = await wakeLags(c, f.wakeRounds, mover, watcher);
  await c.redis!.restart();
  const back = await until(async () => (await gauge(url(c, 1), 'web_event_doorbell_up')) === 1, 15_000);
  const wake = { doorbell: lagSummary(withBell), storeRecheck: lagSummary(withoutBell), pollMs: f.pollMs, doorbellBack: back };
  say(`wake across instances, doorbell up:  median ${wake.doorbell.medianMs} ms, p90 ${wake.doorbell.p90Ms} ms, max ${wake.doorbell.maxMs}` +
    ` ms (${f.wakeRounds} rounds)`);
  say(`wake across instances, Redis down:   median ${wake.storeRecheck.medianMs} ms, p90 ${wake.storeRecheck.p90Ms} ms, max ` +
    `${wake.storeRecheck.maxMs} ms (store re-check every ${f.pollMs} ms)`);

  const players = [];
  for (let i = 0; i < f.players; i++) players.push({ name: `lab11-p${i}`, ...(await login(c.url, `lab11-p${i}`)) });
  const victim = f.web - 1;
  const run = await writeRun(c, players, victim);
  const killBucket = Math.floor(f.killAfterMs / 100);
  const before = run.timeline.slice(0, killBucket);
  const after = run.timeline.slice(killBucket + Math.ceil(run.killToDownMs / 100) + 2);
  const rate = (xs: number[]) => (xs.length ? round((xs.reduce((a, v) => a + v, 0) / xs.length) * 10, 0) : null);
  const ledger = ledgerCheck(c.dbPath!, run.acked);
  const restartT = performance.now();
  await c.restart(victim);
  const failover = {
    killed: c.serverName(victim), killToDownMs: run.killToDownMs, acked: run.acked.size, refused: run.refused, resentOps: run.resentOps,
    sends: run.sends, retriedStatuses: run.retriedStatuses, unresolved: run.unresolved, opsPerSecBefore: rate(before),
    opsPerSecAfter: rate(after), timeline: run.timeline, restartToUpMs: round(performance.now() - restartT, 0), ...ledger,
  };
  say(`${failover.killed} killed (SIGKILL) ${f.killAfterMs} ms in: HAProxy marked it DOWN ${failover.killToDownMs} ms later; ` +
    `it was UP again ${failover.restartToUpMs} ms after a restart`);
  say(`writes: ${failover.acked} acknowledged, ${failover.refused} refused by a rule, ${failover.resentOps} resent with their key ` +
    `(answers retried: ${JSON.stringify(failover.retriedStatuses)}), ${failover.unresolved} unresolved`);
  say(`completions/s: ${failover.opsPerSecBefore} before the kill, ${failover.opsPerSecAfter} after HAProxy took it out`);
  say(`ledger: ${failover.lost} acknowledged writes missing, ${failover.twice} applied twice, ${failover.unacked} never acknowledged; ` +
    `audit ${failover.auditOk ? 'OK' : 'FAILED'}`);
  ok = back && failover.lost === 0 && failover.twice === 0 && failover.unacked === 0 && failover.auditOk && failover.unresolved === 0;
  result = { tool: 'more-counters', machine: machine(), settings: f, ok, wake, failover };
} finally {
  await c.stop();
}
say(ok ? 'more-counters: all checks passed' : 'more-counters: CHECKS FAILED');
writeJson(f.out, result);
process.exit(ok ? 0 : 1);
