/**
 * How much does the takeout counter cost over bare Fastify for a read?
 *
 *   npx tsx web-server/bench-read.ts [--duration 5] [--connections 10]
 *
 * Starts, in a child process, the web app (SQLite store in a temp dir, logs silent, rate limit off)
 * and a bare Fastify server whose one route returns a small JSON object; then runs autocannon against
 * each, one after the other, from this process: GET /v1/me/inventory with a bearer token (token check,
 * a store read, response schema serialization, metrics) vs GET /bare. Prints req/s, latency and the ratio.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { cliFlags } from '../shared/config.ts';
import { buildApp } from './app.ts';
import { webConfig } from './config.ts';

const flags = cliFlags('Usage: npx tsx web-server/bench-read.ts [options]', {
  duration: {
    type: 'number',
    default: 5,
    help: 'seconds per target (split over --rounds, alternating targets, so load drift hits both alike)',
  },
  rounds: { type: 'number', default: 5, help: 'alternations of the two targets' },
  warmup: { type: 'number', default: 1, help: 'warm-up seconds per target (not counted)' },
  connections: { type: 'number', default: 10, help: 'concurrent connections' },
  serve: { type: 'boolean', default: false, help: '(internal) run the servers and print their ports' },
});

async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tdi-bench-'));
  const config = webConfig({ dbPath: join(dir, 'game.sqlite'), logLevel: 'silent', rateLimit: 0, hashCost: 4, eventsPruneMs: 0 });
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const login = await app.inject({ method: 'POST', url: '/v1/sessions', payload: { name: 'bench', password: 'bench-pw' } });
  const token = login.json().token as string;

  const bare = Fastify({ logger: false });
  bare.get('/bare', async () => ({ slots: [{ item: 'potion_small', qty: 3 }], maxSlots: 20, gold: 100 }));
  await bare.listen({ host: '127.0.0.1', port: 0 });

  const port = (s: typeof bare.server) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  };
  process.stdout.write(JSON.stringify({ web: port(app.server), bare: port(bare.server), token }) + '\n');
  const stop = async () => {
    await Promise.allSettled([app.close(), bare.close()]);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop()); // parent gone
  process.stdin.resume();
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function measure(url: string, headers: Record<string, string>, seconds: number): Promise<Figures> {
  const r = await autocannon({ url, headers, connections: flags.connections, duration: seconds, pipelining: 1 });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

async function main(): Promise<void> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise<{ web: number; bare: number; token: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (c) => reject(new Error(`server process exited (${c})`)));
  });
  try {
    const inv = { url: `http://127.0.0.1:${info.web}/v1/me/inventory`, headers: { authorization: `Bearer ${info.token}` } };
    const bare = { url: `http://127.0.0.1:${info.bare}/bare`, headers: {} };
    for (const t of [bare, inv]) await measure(t.url, t.headers, flags.warmup);
    const slice = flags.duration / flags.rounds;
    const bs: Figures[] = [];
    const ws: Figures[] = [];
    for (let i = 0; i < flags.rounds; i++) {
      bs.push(await measure(bare.url, bare.headers, slice));
      ws.push(await measure(inv.url, inv.headers, slice));
    }
    const merge = (fs: Figures[]): Figures => ({
      rps: fs.reduce((a, f) => a + f.rps, 0) / fs.length,
      p50: Math.max(...fs.map((f) => f.p50)),
      p99: Math.max(...fs.map((f) => f.p99)),
      non2xx: fs.reduce((a, f) => a + f.non2xx, 0),
      errors: fs.reduce((a, f) => a + f.errors, 0),
    });
    const b = merge(bs);
    const w = merge(ws);
    const perRound = (fs: Figures[]) => fs.map((f) => f.rps.toFixed(0)).join(' ');
    console.log('rounds req/s  bare:', perRound(bs), '  inventory:', perRound(ws));
    const row = (name: string, f: Figures) =>
      `${name.padEnd(36)} ${f.rps.toFixed(0).padStart(8)} req/s` +
      `   p50 ${String(f.p50).padStart(3)} ms   p99 ${String(f.p99).padStart(3)} ms` +
      `   non-2xx ${f.non2xx}   errors ${f.errors}`;
    console.log(
      `autocannon: ${flags.connections} connections, ${flags.duration} s per target in ${flags.rounds} alternating rounds,` +
        ' servers in one child process',
    );
    console.log(row('GET /bare (bare Fastify)', b));
    console.log(row('GET /v1/me/inventory (web server)', w));
    const ratio = (w.rps / b.rps).toFixed(3);
    console.log(`ratio inventory/bare: ${ratio}  (the web server's read costs ${(b.rps / w.rps).toFixed(2)}x a bare route)`);
    if (w.non2xx || b.non2xx) throw new Error('non-2xx answers: the measurement is not valid');
  } finally {
    child.kill('SIGTERM');
  }
}

if (flags.serve) await serve();
else await main();
