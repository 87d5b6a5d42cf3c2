/**
 * `npm test`'s pretest: the programs some tests drive for real — chromium (renders the HTML reports),
 * docker-compose (validates docker-compose.yml; `config` needs no Docker engine), haproxy (the load
 * balancer in front of N web instances) and redis-server (each cluster test runs its own, on a free
 * port). Installs them
 * with apt-get when run as root on Debian and they are missing; otherwise says what is missing and
 * fails, so a test never silently skips. A Node script rather than a shell script, so `npm test`
 * starts the same way from cmd.exe, PowerShell and a POSIX shell.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first file on PATH that runs as `name` (with Windows' PATHEXT suffixes there). */
export function which(name: string): string | null {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const p = join(dir, name + ext);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

const need = ['chromium', 'docker-compose', 'haproxy', 'redis-server'].filter((n) => !which(n));
if (need.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && which('apt-get')) {
  process.stderr.write(`installing Debian packages for the tests: ${need.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...need]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      process.stderr.write(`apt-get ${args[0]} failed (exit ${r.status})\n`);
      process.exit(1);
    }
  }
  process.exit(0);
}
const hint = process.platform === 'win32' ? 'install them and put them on PATH' : `Debian: sudo apt-get install ${need.join(' ')}`;
process.stderr.write(`missing for the tests: ${need.join(' ')} (${hint})\n`);
process.exit(1);
