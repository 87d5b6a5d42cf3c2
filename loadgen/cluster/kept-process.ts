/**
 * A non-Node program (haproxy, redis-server) run for the cluster, through a tiny Node "keeper" in
 * between: if the launcher dies without stopping it (SIGKILL, a test timeout), the keeper notices its
 * parent is gone and kills the program, as loadgen/procs/die-with-parent.ts does for the Node servers.
 * The keeper prints the program's pid first, so a test can SIGKILL the program itself; the keeper
 * then exits with it. CPU samples of the keeper's pid include the program (loadgen/procs/child.ts
 * sums the process tree).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const KEEPER = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const parent = process.ppid;
const c = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
c.on('spawn', () => process.stdout.write('keeper-child ' + c.pid + '\\n'));
c.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(127); });
c.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => c.kill(s));
setInterval(() => { if (process.ppid !== parent) { c.kill('SIGKILL'); process.exit(1); } }, 300);
`;

export interface KeptProcess {
  name: string;
  /** The keeper's pid (its process tree includes the program). */
  pid: number;
  /** The program's own pid. */
  childPid: number;
  proc: ChildProcess;
  readonly alive: boolean;
  exited: Promise<void>;
  output(): string;
  /** SIGTERM, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** Signal the program itself (SIGKILL: as if it crashed). */
  killChild(signal: NodeJS.Signals): Promise<void>;
}

export function startKept(name: string, bin: string, args: string[], timeoutMs = 10_000): Promise<KeptProcess> {
  // A process group of its own: a Ctrl-C at the terminal reaches the launcher only, which stops it in turn.
  const proc = spawn(process.execPath, ['-e', KEEPER, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const add = (d: string) => {
    out = (out + d).slice(-6000);
  };
  proc.stdout!.setEncoding('utf8').on('data', add);
  proc.stderr!.setEncoding('utf8').on('data', add);
  let alive = true;
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      alive = false;
      r();
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${name}: did not start in ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} (${bin}) exited at start: ${out.trim().slice(-2000)}`));
    });
    const onData = () => {
      const m = /keeper-child (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      const childPid = Number(m[1]);
      resolve({
        name,
        pid: proc.pid!,
        childPid,
        proc,
        get alive() {
          return alive;
        },
        exited,
        output: () => out,
        async stop(graceMs = 5000) {
          if (!alive) return;
          proc.kill('SIGTERM');
          const t = setTimeout(() => {
            for (const pid of [childPid, proc.pid!]) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // already gone
              }
            }
          }, graceMs);
          await exited;
          clearTimeout(t);
        },
        async killChild(signal) {
          if (!alive) return;
          try {
            process.kill(childPid, signal);
          } catch {
            // already gone
          }
          await exited;
        },
      });
    };
    proc.stdout!.on('data', onData);
  });
}
