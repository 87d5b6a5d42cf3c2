/**
 * How far is the web server from a stateless floor? CPU per request, measured in the server:
 *
 *   npx tsx web-server/bench-floor.ts [--seconds 3] [--rounds 5] [--connections 10] [--cpu-prof DIR] [--baseline PATH/app.ts]
 *
 * Each target runs in its own child process (so its CPU is its own), on its own temporary SQLite file:
 *  - bare:  bare Fastify, one route returning the inventory-shaped object (wire only);
 *  - floor: bare Fastify + the same bearer-token check + the same store read (loadPlayer) and answer,
 *           with nothing else (no schemas, hooks, metrics): the least a stateless server must do;
 *  - web:   the web app (buildApp), rate limit off, logs silent.
 * autocannon sends the same GET /v1/me/inventory (with the token) to each for --seconds per round,
 * targets interleaved round by round (the order rotating); the parent asks each child for its CPU time before and
 * after. CPU µs per request varies far less than req/s on a shared machine; both are printed, as
 * medians over the rounds, with the web/floor ratios.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { cliFlags } from '../shared/config.ts';
import { openDomain } from '../shared/domain.ts';
import { fail } from '../shared/errors.ts';
import { CommandRunner } from '../shared/runner.ts';
import { buildApp } from './app.ts';
import { webConfig } from './config.ts';

const TARGETS = ['bare', 'floor', 'web', 'web-base'] as const;
type Target = (typeof TARGETS)[number];

const flags = cliFlags('Usage: npx tsx web-server/bench-floor.ts [options]', {
  seconds: { type: 'number', default: 3, help: 'seconds per target per round' },
  rounds: { type: 'number', default: 5, help: 'rounds (targets interleaved in each)' },
  connections: { type: 'number', default: 10, help: 'concurrent connections' },
  targets: { type: 'string', default: TARGETS.join(','), help: 'which targets, comma-separated' },
  cpuProf: { type: 'string', default: '', help: 'write a V8 CPU profile per target into this directory' },
  baseline: { type: 'string', default: '', help: 'also run "web-base": the app.ts at this path (e.g. an export of an earlier commit)' },
  inject: { type: 'boolean', default: false, help: 'drive the apps in this process with inject() instead (no sockets)' },
  serve: { type: 'string', default: '', help: '(internal) run one target in this process' },
});

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

interface Built {
  app: FastifyInstance;
  token: string;
  close: () => Promise<unknown>;
}

async function build(target: Target, dir: string): Promise<Built> {
  const config = webConfig({ dbPath: join(dir, 'game.sqlite'), logLevel: 'warn', rateLimit: 0, hashCost: 4, eventsPruneMs: 0 });
  if (target === 'web' || target === 'web-base') {
    const make = target === 'web' ? buildApp : ((await import(flags.baseline)) as { buildApp: typeof buildApp }).buildApp;
    const app = await make(config);
    const login = await app.inject({ method: 'POST', url: '/v1/sessions', payload: { name: 'bench', password: 'bench-pw' } });
    const token = login.json().token as string;
    return { app, token, close: () => app.close() };
  } else {
    const domain = openDomain(config);
    const { store, tokens, rules, hashCost } = domain;
    const runner = new CommandRunner({ store, tokens, rules, hashCost, realtime: 'store', persistEvents: false });
    const token = ((await runner.run('player.login', { name: 'bench', password: 'bench-pw' }, null)) as { token: string }).token;
    const app = Fastify({ logger: false });
    if (target === 'bare') {
      app.get('/v1/me/inventory', async () => ({ slots: [{ item: 'potion_small', qty: 3 }], maxSlots: 20, gold: 100 }));
    } else {
      app.get('/v1/me/inventory', async (req) => {
        const m = BEARER.exec(req.headers.authorization ?? '');
        const claims = m ? domain.tokens.verify(m[1], Date.now()) : null;
        if (!claims) fail('UNAUTHORIZED', 'bad token');
        const p = domain.store.loadPlayer(claims.playerId);
        if (!p) fail('NOT_FOUND', 'no player');
        return { slots: p.inventory, maxSlots: 20, gold: p.gold };
      });
    }
    await app.ready();
    const close = async () => {
      await app.close();
      domain.store.close();
    };
    return { app, token, close };
  }
}

async function serve(target: Target): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tdi-floor-'));
  const { app, token, close } = await build(target, dir);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  process.on('message', async (m: { type: string }) => {
    if (m.type === 'cpu') {
      const c = process.cpuUsage();
      process.send!({ type: 'cpu', us: c.user + c.system });
    } else if (m.type === 'stop') {
      await close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0); // flushes --cpu-prof
    }
  });
  process.send!({ type: 'ready', port, token });
}

interface Child {
  target: Target;
  proc: ChildProcess;
  port: number;
  token: string;
}

function ask<T>(c: Child, type: string): Promise<T> {
  return new Promise((resolve) => {
    c.proc.once('message', (m) => resolve(m as T));
    c.proc.send({ type });
  });
}

async function start(target: Target): Promise<Child> {
  const execArgv = ['--import', 'tsx'];
  if (flags.cpuProf) execArgv.push("--cpu-prof", `--cpu-prof-dir=${join(flags.cpuProf, target)}`);
  const args = ['--serve', target, '--baseline', flags.baseline];
  const proc = fork(fileURLToPath(import.meta.url), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { port: number; token: string }));
    proc.once('exit', (code) => reject(new Error(`${target} exited (${code})`)));
  });
  return { target, proc, ...ready };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function round(c: Child, seconds: number): Promise<{ rps: number; usPerReq: number; non2xx: number }> {
  const before = await ask<{ us: number }>(c, 'cpu');
  const r = await autocannon({
    url: `http://127.0.0.1:${c.port}/v1/me/inventory`,
    headers: { authorization: `Bearer ${c.token}` },
    connections: flags.connections,
    duration: seconds,
  });
  const after = await ask<{ us: number }>(c, 'cpu');
  return { rps: r.requests.total / r.duration, usPerReq: (after.us - before.us) / r.requests.total, non2xx: r.non2xx + r.errors };
}

async function main(): Promise<void> {
  const targets = (flags.targets === TARGETS.join(',') && !flags.baseline ? 'bare,floor,web' : flags.targets).split(',') as Target[];
  const children: Child[] = [];
  try {
    for (const t of targets) children.push(await start(t));
    for (const c of children) await round(c, 1); // warm-up (JIT), not counted
    const res = new Map<Target, { rps: number[]; us: number[] }>(targets.map((t) => [t, { rps: [], us: [] }]));
    const load0 = loadavg()[0];
    for (let i = 0; i < flags.rounds; i++) {
      // Rotate the order each round so no target always runs first (or last) in a round.
      for (let j = 0; j < children.length; j++) {
        const c = children[(i + j) % children.length];
        const r = await round(c, flags.seconds);
        if (r.non2xx) throw new Error(`${c.target}: ${r.non2xx} non-2xx answers`);
        res.get(c.target)!.rps.push(r.rps);
        res.get(c.target)!.us.push(r.usPerReq);
      }
    }
    const load = `load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`;
    console.log(`${load}; ${flags.rounds} rounds × ${flags.seconds} s per target, ${flags.connections} connections`);
    for (const [t, r] of res) {
      console.log(
        `${t.padEnd(6)} req/s median ${median(r.rps).toFixed(0).padStart(6)} [${r.rps.map((x) => x.toFixed(0)).join(' ')}]` +
          `   server CPU µs/req median ${median(r.us).toFixed(1).padStart(6)} [${r.us.map((x) => x.toFixed(1)).join(' ')}]`,
      );
    }
    const web = res.get('web');
    const floor = res.get('floor');
    if (web && floor) {
      const rps = (median(web.rps) / median(floor.rps)).toFixed(2);
      console.log(`web/floor: req/s ${rps}×, CPU per request ${(median(floor.us) / median(web.us)).toFixed(2)}× (floor µs / web µs)`);
    }
  } finally {
    for (const c of children) {
      const exited = new Promise((resolve) => c.proc.once('exit', resolve));
      c.proc.send({ type: 'stop' });
      await exited;
    }
  }
}

/**
 * --inject: all targets in this process, driven by app.inject (no sockets, no HTTP parser), in small
 * alternating batches timed by this process's CPU time. Load on the machine hits every target alike,
 * and the wire costs both sides share are left out, so the ratio is a lower bound of the wire ratio.
 */
async function injectMain(): Promise<void> {
  const targets = (flags.targets === TARGETS.join(',') && !flags.baseline ? 'bare,floor,web' : flags.targets).split(',') as Target[];
  const dirs: string[] = [];
  const built = new Map<Target, Built>();
  for (const t of targets) {
    const dir = mkdtempSync(join(tmpdir(), 'tdi-floor-'));
    dirs.push(dir);
    built.set(t, await build(t, dir));
  }
  const batch = async (b: Built, n: number) => {
    const headers = { authorization: `Bearer ${b.token}` };
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const r = await b.app.inject({ method: 'GET', url: '/v1/me/inventory', headers });
      if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode} ${r.body}`);
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  for (const b of built.values()) await batch(b, 3000); // warm-up
  const us = new Map<Target, number[]>(targets.map((t) => [t, []]));
  const load0 = loadavg()[0];
  for (let i = 0; i < flags.rounds * 4; i++) for (const [t, b] of built) us.get(t)!.push(await batch(b, 1000));
  const load = `load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`;
  console.log(`inject: ${load}; ${flags.rounds * 4} alternating batches of 1000 requests`);
  for (const [t, xs] of us) {
    const range = `(min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
    console.log(`${t.padEnd(8)} CPU µs/req median ${median(xs).toFixed(1).padStart(6)}  ${range}`);
  }
  const f = us.get('floor');
  for (const t of ['web', 'web-base'] as const) {
    const w = us.get(t);
    if (w && f) console.log(`${t}: floor/web CPU per request ${(median(f) / median(w)).toFixed(2)}×`);
  }
  for (const b of built.values()) await b.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

if (flags.serve) await serve(flags.serve as Target);
else if (flags.inject) await injectMain();
else await main();
