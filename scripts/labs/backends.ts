/**
 * Lab 6's echo benchmark (loadgen/bench/io-echo.ts) with the figures the lab asks about, per round
 * and with their spread: server CPU µs per round trip, and system calls per round trip from the
 * backends' own counters (game-server/io/port-stats.ts): every wait of the uring backend is one
 * io_uring_enter, which also submits everything queued since the last one; every wait of the libuv
 * backend is one epoll_wait, and libuv then makes one read(2) per readable socket and one write(2)
 * per send — each of those is one completion of the port, so libuv's calls per round trip are its
 * waits plus its completions.
 *
 *   npx tsx scripts/labs/backends.ts --backends libuv,uring --seconds 3 --rounds 3 --inflight 1 --out labs-out/06-io-echo.json
 *
 * Other flags go to io-echo unchanged. Writes the JSON to --out (labs-out/ by default, git-ignored).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import { machine, writeJson } from './lib.ts';
import { spread, type Spread } from './spread.ts';

interface EchoRound {
   backend: string; round: number; rtPerSec: number; cpuUsPerRt: number; serverUtil: number; batchAvg: number; waitsPerSec: number }
interface EchoJson { config: Record<string, unknown>; results: EchoRound[] }

export interface BackendRow {
  backend: string;
  rtPerSec: Spread;
  cpuUsPerRt: Spread;
  serverUtilPct: Spread;
  completionsPerWait: Spread;
  waitsPerRt: Spread;
  syscallsPerRt: Spread;
}

/** System calls per round trip from the port's counters (see the header for what each backend's wait is). */
export function syscallsPerRt(r: EchoRound): { waitsPerRt: number; syscallsPerRt: number } {
  const waitsPerRt = r.waitsPerSec / r.rtPerSec;
  // a round trip is one recv completion and one send completion: on libuv one read(2) and one write(2)
  const completionsPerRt = 2;
  return { waitsPerRt, syscallsPerRt: r.backend === 'libuv' ? waitsPerRt + completionsPerRt : waitsPerRt };
}

export function summarise(results: EchoRound[]): BackendRow[] {
  return [...new Set(results.map((r) => r.backend))].map((b) => {
    const rs = results.filter((r) => r.backend === b);
    return {
      backend: b,
      rtPerSec: spread(rs.map((r) => r.rtPerSec)),
      cpuUsPerRt: spread(rs.map((r) => r.cpuUsPerRt)),
      serverUtilPct: spread(rs.map((r) => r.serverUtil * 100)),
      completionsPerWait: spread(rs.map((r) => r.batchAvg)),
      waitsPerRt: spread(rs.map((r) => syscallsPerRt(r).waitsPerRt)),
      syscallsPerRt: spread(rs.map((r) => syscallsPerRt(r).syscallsPerRt)),
    };
  });
}

const num = (v: number, d: number) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const f = (s: Spread, d: number) => (s.median === null ? '—' : `${num(s.median, d)}${s.n > 1 ? ` (${num(s.min!, d)}–${num(s.max!,
  d)})` : ''}`);
export function renderBackends(rows: BackendRow[], rounds: number): string[] {
  return [
    `Each cell: median of ${rounds} round(s) (min–max); rounds interleaved.`,
    '',
    '| backend | round trips/s | server CPU µs per round trip | server thread busy % | completions per wait | waits per round trip | ' +
      'system calls per round trip |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((
      r) => `| ${r.backend} | ${f(r.rtPerSec, 0)} | ${f(r.cpuUsPerRt, 2)} | ${f(r.serverUtilPct, 0)} | ${f(r.completionsPerWait, 1)} | ` +
        `${f(r.waitsPerRt, 3)} | ${f(r.syscallsPerRt, 2)} |`),
  ];
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let out = 'labs-out/06-io-echo.json';
  const pass: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i] ?? out;
    else if (argv[i] !== '--json') pass.push(argv[i]);
  }
  if (pass.includes('--help')) {
    process.stdout.write(
      'usage: npx tsx scripts/labs/backends.ts [io-echo flags…] [--out FILE]\n(npx tsx loadgen/bench/io-echo.ts --help lists the io-echo ' +
        'flags)\n');
    return 0;
  }
  const m0 = machine();
  let stdout = '';
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'loadgen/bench/io-echo.ts'), ...pass, '--json'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.on('exit', resolve);
  });
  if (code !== 0) {
    process.stderr.write(`io-echo exited ${code}\n${stdout.slice(-2000)}\n`);
    return 1;
  }
  const echo = JSON.parse(stdout) as EchoJson;
  const rows = summarise(echo.results);
  const rounds = Math.max(...echo.results.map((r) => r.round)) + 1;
  writeJson(out, { tool: 'scripts/labs/backends.ts', machine: m0, loadAvgAtEnd: machine().loadAvg, config: echo.config,
    results: echo.results.map((r) => ({ ...r, ...syscallsPerRt(r) })), summary: rows });
  process.stdout.write(`${renderBackends(rows, rounds).join('\n')}\n\nwritten: ${out}\n`);
  return 0;
}

if (process.argv[1]?.endsWith('backends.ts')) process.exit(await main());
