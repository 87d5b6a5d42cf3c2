/**
 * A redis-server of the cluster's own, on a free loopback port, keeping nothing on disk
 * (`--save '' --appendonly no`): the cluster (and every test) gets a Redis nobody else uses, and
 * never touches the machine's shared one. `restart()` brings it back on the same port (the web
 * instances reconnect by themselves) — the lab's and the tests' "Redis restarted under load".
 */
import { freePort, waitListening } from './free-port.ts';
import { startKept, type KeptProcess } from './kept-process.ts';

export interface OwnRedis {
  url: string;
  port: number;
  readonly proc: KeptProcess;
  /** Kill it (SIGKILL: a crash, nothing flushed) and wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port; resolves once it accepts connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const REDIS_BIN = 'redis-server';

async function launch(port: number): Promise<KeptProcess> {
  const p = await startKept('redis', REDIS_BIN, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
  ]);
  try {
    await waitListening('127.0.0.1', port, 10_000, () => p.alive);
  } catch (e) {
    await p.stop();
    throw new Error(`${(e as Error).message}\n${p.output()}`);
  }
  return p;
}

export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  const p = port ?? (await freePort());
  let proc = await launch(p);
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    get proc() {
      return proc;
    },
    kill: () => proc.killChild('SIGKILL'),
    async restart() {
      if (proc.alive) await proc.killChild('SIGKILL');
      proc = await launch(p);
    },
    stop: () => proc.stop(),
  };
}
