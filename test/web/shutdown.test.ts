/**
 * Graceful shutdown: close() with requests in flight answers them all and loses nothing acknowledged;
 * the real entry point (web-server/server.ts) prints its start line, serves, and on SIGTERM finishes
 * in-flight requests, closes the store and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStartLine, type StartLine } from '../../shared/start-line.ts';
import { SqliteStore } from '../../shared/store/sqlite-store.ts';
import { tempDir } from '../helpers/domain.ts';
import { startApp } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');

async function json(res: Response) {
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('graceful shutdown (in process)', () => {
  it('close() with requests in flight: every one is answered, long-polls end at once, writes are in the store', async () => {
    // A real hash cost makes logins slow enough to still be running when close() starts.
    const h = await startApp({ hashCost: 13, eventsMaxWaitMs: 30_000 });
    const dbPath = h.dbPath;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = h.app.server.address();
    const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const post = (path: string, body: unknown, token?: string) =>
      fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });

    const first = await json(await post('/v1/sessions', { name: 'zoe', password: 'pw-zoe' }));
    const token = first.body.token as string;
    const t0 = performance.now();
    const poll = fetch(`${base}/v1/me/events?waitMs=30000`, { headers: { authorization: `Bearer ${token}` } });
    const logins = ['amy', 'ben', 'cat', 'dov'].map((n) => post('/v1/sessions', { name: n, password: `pw-${n}` }));
    const buys = [1, 2, 3].map((q) => post('/v1/shop/potion_small/buy', { qty: q }, token));
    // Close once all 8 have reached the server (a request still in the client's socket buffer is not
    // in flight: closing drops idle connections, and the client would retry it elsewhere).
    const end = Date.now() + 10_000;
    while (h.app.web.received < 9 && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    expect(h.app.web.received).toBe(9);
    const inFlightAtClose = h.app.web.inFlight;
    expect(inFlightAtClose).toBeGreaterThanOrEqual(2); // at least the long-poll and a slow login
    await h.app.close();
    const closedAt = performance.now() - t0;

    const pollRes = await json(await poll);
    expect(pollRes.status).toBe(200);
    expect(pollRes.body.events).toEqual([]);
    expect(closedAt).toBeLessThan(10_000); // the 30 s long-poll did not hold the close
    const loginRes = await Promise.all(logins.map(async (p) => json(await p)));
    for (const r of loginRes) expect(r.status).toBe(200);
    const buyRes = await Promise.all(buys.map(async (p) => json(await p)));
    for (const r of buyRes) expect(r.status).toBe(200);
    // New connections are refused now.
    await expect(fetch(`${base}/v1/ping`)).rejects.toThrow();

    // Everything acknowledged is in the file.
    const store = new SqliteStore({ path: dbPath });
    try {
      for (const r of loginRes) expect(store.loadPlayer(r.body.playerId as number)?.name).toBe(r.body.name);
      const zoe = store.findPlayerByName('zoe')!.state;
      expect(zoe.gold).toBe(100 - 60);
      expect(zoe.inventory).toContainEqual({ item: 'potion_small', qty: 3 + 6 });
    } finally {
      store.close();
    }
  });
});

describe('graceful shutdown (injected requests)', () => {
  it('close() waits for injected requests still running before closing the store', async () => {
    const h = await startApp({ hashCost: 14 });
    const dbPath = h.dbPath;
    const slow = h.app.inject({ method: 'POST', url: '/v1/sessions', payload: { name: 'slowpoke', password: 'pw-slow' } });
    await new Promise((r) => setTimeout(r, 5));
    expect(h.app.web.inFlight).toBe(1);
    await h.app.close();
    const res = await slow;
    expect(res.statusCode).toBe(200);
    const store = new SqliteStore({ path: dbPath });
    try {
      expect(store.loadPlayer(res.json().playerId)?.name).toBe('slowpoke');
    } finally {
      store.close();
    }
  });
});

describe('the entry point: web-server/server.ts', () => {
  it('--help prints the flags with their environment variables and exits 0', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'web-server/server.ts', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    for (const f of [
      '--host',
      '--port',
      '--store',
      '--db-path',
      '--log-level',
      '--body-limit',
      '--rate-limit',
      '--events-max-wait-ms',
      'WEB_PORT',
      'DB_PATH',
    ]) {
      expect(r.stdout).toContain(f);
    }
  }, 90_000);

  it('prints the start line with the real port, serves, and on SIGTERM finishes in-flight work and exits 0', async () => {
    const tmp = tempDir('tdi-web-proc-');
    const dbPath = join(tmp.dir, 'game.sqlite');
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'web-server/server.ts',
          '--host',
          '127.0.0.1',
          '--port',
          '0',
          '--db-path',
          dbPath,
          '--hash-cost',
          '4',
          '--log-level',
          'warn',
          '--no-rate-limit',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      const line = await new Promise<StartLine>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no start line: ${out} ${err}`)), 60_000);
        const check = () => {
          const m = out.includes('\n') ? parseStartLine(out.slice(0, out.lastIndexOf('\n'))) : null;
          if (m) {
            clearTimeout(t);
            resolve(m);
          }
        };
        child!.stdout!.on('data', check);
        child!.once('exit', () => reject(new Error(`exited early: ${out} ${err}`)));
      });
      expect(line).toMatchObject({ server: 'web-server', proto: 'http', host: '127.0.0.1' });
      const port = line.port;
      expect(port).toBeGreaterThan(0);
      expect(line.details.store).toBe(`sqlite ${dbPath}`);
      const base = `http://127.0.0.1:${port}`;
      const login = await json(
        await fetch(`${base}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'pia', password: 'pw-pia' }),
        }),
      );
      expect(login.status).toBe(200);
      const auth = { authorization: `Bearer ${login.body.token}` };
      const poll = fetch(`${base}/v1/me/events?waitMs=20000`, { headers: auth });
      const buy = fetch(`${base}/v1/shop/potion_small/buy`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ qty: 2 }),
      });
      await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      expect((await json(await buy)).body).toMatchObject({ gold: 80, have: 5 });
      expect((await poll).status).toBe(200);
      expect(await exited).toBe(0);
      expect(out).toContain('web-server stopped');
      const store = new SqliteStore({ path: dbPath });
      try {
        expect(store.findPlayerByName('pia')?.state.gold).toBe(80);
      } finally {
        store.close();
      }
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      tmp.cleanup();
    }
  }, 90_000); // a child process starting tsx: slow on a loaded machine
});
