/** HAProxy as a child process on a generated config (haproxy-config.ts), and its servers' states from the stats page. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitListening } from './free-port.ts';
import { parseStatsCsv, renderHaproxyConfig, type HaproxyConfigOptions, type ServerState } from './haproxy-config.ts';
import { startKept, type KeptProcess } from './kept-process.ts';

export const HAPROXY_BIN = 'haproxy';

export interface Haproxy {
  host: string;
  port: number;
  url: string;
  statsUrl: string;
  configPath: string;
  proc: KeptProcess;
  /** The `web` backend's servers and their state (UP, DOWN…). */
  states(): Promise<Record<string, ServerState>>;
  /** Resolves once every named server is in `state`, rejects after ms with the states seen. */
  waitStates(names: string[], state: ServerState, ms: number): Promise<void>;
  stop(): Promise<void>;
}

export type HaproxyStartOptions = Omit<HaproxyConfigOptions, 'bindPort' | 'statsPort'> & { bindPort?: number; dir: string };

export async function startHaproxy(o: HaproxyStartOptions): Promise<Haproxy> {
  const port = o.bindPort || (await freePort(o.bindHost));
  const statsPort = await freePort(o.bindHost);
  const configPath = join(o.dir, 'haproxy.cfg');
  writeFileSync(configPath, renderHaproxyConfig({ ...o, bindPort: port, statsPort }));
  // -db: stay in the foreground (the keeper and this process own its life); -f: our config only.
  const proc = await startKept('haproxy', HAPROXY_BIN, ['-db', '-f', configPath]);
  try {
    await waitListening(o.bindHost, port, 10_000, () => proc.alive);
    await waitListening(o.bindHost, statsPort, 10_000, () => proc.alive);
  } catch (e) {
    await proc.stop();
    throw new Error(`haproxy: ${(e as Error).message}\n${proc.output()}`);
  }
  const statsUrl = `http://${o.bindHost}:${statsPort}/stats`;
  const states = async () => {
    const r = await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(5000) });
    return parseStatsCsv(await r.text());
  };
  return {
    host: o.bindHost,
    port,
    url: `http://${o.bindHost}:${port}`,
    statsUrl,
    configPath,
    proc,
    states,
    async waitStates(names, state, ms) {
      const until = Date.now() + ms;
      let seen: Record<string, ServerState> = {};
      for (;;) {
        try {
          seen = await states();
          if (names.every((n) => seen[n] === state)) return;
        } catch {
          // not answering yet
        }
        if (Date.now() > until) throw new Error(`haproxy: ${names.join(', ')} not all ${state} after ${ms} ms: ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => proc.stop(),
  };
}
