/**
 * `--workers N` with the iocp backend (Windows has no SO_REUSEPORT): worker 0 accepts and hands each
 * connection to the least-loaded worker, whose port then owns it (game-server/io/handoff.ts). Runs where
 * iocp runs: the Wine-hosted server (GAME_WINE=1, scripts/wine/run-tests.ts); on Linux the kernel
 * spreads connections itself (workers.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GameClient } from '../../game-server/client/client.ts';
import { IO, metric, startGame, uniqueName, type GameServer } from './harness.ts';

const WORKERS = 3;

describe.skipIf(IO !== 'iocp')(`--workers ${WORKERS} on iocp: accept on one worker, hand off to the least loaded`, () => {
  let srv: GameServer;
  beforeAll(async () => {
    srv = await startGame(['--workers', String(WORKERS)]);
  });
  afterAll(async () => {
    await srv.stop();
  });

  const perWorker = async (name: string) => {
    const text = await srv.metrics();
    return Array.from({ length: WORKERS }, (_, w) => metric(text, name, `worker="${w}"`));
  };

  it('connections are spread evenly over the workers, each answered by its worker; a freed worker gets the next ones', async () => {
    expect(srv.stdout.join('')).toMatch(new RegExp(`io iocp, workers ${WORKERS}`));
    const clients: GameClient[] = [];
    for (let i = 0; i < 4 * WORKERS; i++) clients.push(await srv.client({ keepalive: false }));
    const on = (cs: GameClient[]) => cs.map((c) => c.welcome!.worker ?? -1);
    const count = (ws: number[]) => Array.from({ length: WORKERS }, (_, w) => ws.filter((x) => x === w).length);
    expect(count(on(clients))).toEqual(Array(WORKERS).fill(4));
    for (const [i, c] of clients.entries()) expect(await c.call('ping', { t: i })).toMatchObject({ t: i });

    // Worker 1 loses its four: the next four connections all go there.
    const leaving = clients.filter((c) => c.welcome!.worker === 1);
    await Promise.all(leaving.map((c) => c.close()));
    const stay = clients.filter((c) => c.welcome!.worker !== 1);
    const deadline = Date.now() + 10_000;
    while ((await perWorker('port_devices'))[1] > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const next: GameClient[] = [];
    for (let i = 0; i < 4; i++) next.push(await srv.client({ keepalive: false }));
    expect(on(next)).toEqual([1, 1, 1, 1]);
    await Promise.all([...stay, ...next].map((c) => c.close()));
  });

  it("a session's completions all arrive on its owner's port", async () => {
    const clients: GameClient[] = [];
    for (let i = 0; i < WORKERS; i++) clients.push(await srv.client({ keepalive: false }));
    const owner = clients.find((c) => c.welcome!.worker === 2)!;
    expect(owner).toBeDefined();
    await owner.login(uniqueName('ho'), 'secret-pw');
    const before = await perWorker('port_bytes_in_total');
    for (let k = 0; k < 100; k++) await owner.call('ping', { t: k });
    const after = await perWorker('port_bytes_in_total');
    const grew = after.map((v, w) => v - before[w]);
    expect(grew[2]).toBeGreaterThan(100 * 10); // 100 framed requests
    expect(grew[0]).toBe(0);
    expect(grew[1]).toBe(0);
    await Promise.all(clients.map((c) => c.close()));
  });
});
