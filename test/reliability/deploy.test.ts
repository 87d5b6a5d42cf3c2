/**
 * Deployment files, checked without a Docker engine:
 *  - docker-compose.yml must pass `docker-compose config` (Debian's docker-compose package; the test
 *    FAILS, it does not skip, when the tool is missing — scripts/ensure-test-deps.ts installs it);
 *  - the services, published ports, named volume, health checks and commands are the promised ones;
 *  - the Dockerfile is multi-stage (node:20-bookworm builder running `npm ci`, node:20-bookworm-slim
 *    runtime), runs as a non-root user, and its HEALTHCHECK command really tells a live web server
 *    from a dead port (run here against a web server child);
 *  - the commands it runs are the README's and package.json's (`npm ci`, `npm run web|game|compare`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { baseArgs, REPO_ROOT, startChild, tempDir } from './helpers.ts';

const read = (f: string) => readFileSync(join(REPO_ROOT, f), 'utf8');

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// The sharded cluster's services (profile "cluster") are listed too.
const SERVICES = ['game-server', 'haproxy', 'loadgen', 'lobby', 'postgres', 'redis', 'shard-0', 'shard-1', 'shard-2', 'web'];

describe('docker-compose.yml', () => {
  it('passes `docker-compose config` (Debian package docker-compose must be installed)', () => {
    const bin = which('docker-compose');
    expect(
      bin,
      'docker-compose is missing: apt-get install -y docker-compose (scripts/ensure-test-deps.ts does it when run as root)',
    ).not.toBeNull();
    const r = spawnSync(bin!, ['-f', 'docker-compose.yml', 'config'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr.replace(/.*WARNING.*\n?/g, ''), r.stderr).toBe('');
    expect(r.status).toBe(0);
    const resolved = parse(r.stdout) as any;
    expect(Object.keys(resolved.services).sort()).toEqual(SERVICES);
    expect(Object.keys(resolved.volumes).sort()).toEqual(['data', 'pgdata']);
    const services = execFileSync(bin!, ['-f', 'docker-compose.yml', 'config', '--services'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(services.trim().split('\n').sort()).toEqual(SERVICES);
  }, 90_000);

  it('publishes the web (through HAProxy) and game ports, mounts the named volume for the SQLite files, runs the README commands', () => {
    const c = parse(read('docker-compose.yml'), { merge: true }) as any; // merge: the shards' `<<: *shard`
    const web = c.services.web;
    const game = c.services['game-server'];
    const lg = c.services.loadgen;
    // The web replicas publish nothing: HAProxy is the one address, on the port a single server had.
    expect(web.ports).toBeUndefined();
    expect(web.deploy.replicas).toBeGreaterThan(1);
    expect(c.services.haproxy.ports).toContain('8080:8080');
    expect(lg.command).toContain('http://haproxy:8080');
    expect(game.ports).toContain('7777:7777');
    for (const s of [game, lg]) expect(s.volumes).toContain('data:/data');
    // The replicas share PostgreSQL; the game server keeps its own SQLite file.
    expect(web.environment.STORE).toBe('postgres');
    expect(web.environment.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
    expect(Object.keys(web.depends_on)).toEqual(expect.arrayContaining(['postgres', 'redis']));
    expect(game.environment.DB_PATH).toMatch(/^\/data\/.+\.sqlite$/);
    // The shards and their lobby: one world with the web replicas (one PostgreSQL database), one Redis.
    for (const name of ['shard-0', 'shard-1', 'shard-2', 'lobby']) {
      const s = c.services[name];
      expect(s.profiles, name).toEqual(['cluster']);
      expect(s.environment.STORE, name).toBe('postgres');
      expect(s.environment.DATABASE_URL, name).toBe(web.environment.DATABASE_URL);
      expect(s.environment.GAME_SHARDS, name).toBe('3');
      expect(Object.keys(s.depends_on), name).toEqual(expect.arrayContaining(['postgres', 'redis']));
    }
    expect(['shard-0', 'shard-1', 'shard-2'].map((n) => c.services[n].environment.GAME_SHARD_ID)).toEqual(['0', '1', '2']);
    // Listening on all interfaces inside the container, else the published port reaches nothing.
    expect(web.environment.WEB_HOST).toBe('0.0.0.0');
    expect(game.environment.GAME_HOST).toBe('0.0.0.0');
    // Health: web /healthz; game: its admin port's /healthz.
    expect(web.environment.HEALTH_URL).toBe(`http://127.0.0.1:${web.environment.WEB_PORT}/healthz`);
    expect(game.environment.HEALTH_URL).toBe(`http://127.0.0.1:${game.environment.ADMIN_PORT}/healthz`);
    expect(web.command).toEqual(['npm', 'run', 'web']);
    expect(game.command).toEqual(['npm', 'run', 'game']);
    expect(lg.command.slice(0, 3)).toEqual(['npm', 'run', 'compare']);
    // Those scripts exist and are the ones the README documents.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const s of ['web', 'game', 'compare']) expect(pkg.scripts[s], s).toBeTruthy();
    const readme = read('README.md');
    for (const cmd of ['npm ci', 'npm run web', 'npm run game', 'npm run compare']) expect(readme, cmd).toContain(cmd);
    // The environment variables compose sets are flags the servers really read.
    const flags = read('shared/config.ts') + read('web-server/config.ts') + read('game-server/config.ts') + read('loadgen/flags.ts');
    for (const s of [web, game, lg, c.services['shard-0'], c.services.lobby])
      for (const k of Object.keys(s.environment ?? {})) if (k !== 'HEALTH_URL') expect(flags, k).toContain(`env: '${k}'`);
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  it('is multi-stage: node:20-bookworm builder with npm ci, node:20-bookworm-slim runtime copying from it', () => {
    const froms = lines.filter((l) => /^FROM /i.test(l));
    expect(froms).toEqual(['FROM node:20-bookworm AS builder', 'FROM node:20-bookworm-slim AS runtime']);
    const builder = text.slice(text.indexOf('AS builder'), text.indexOf('AS runtime'));
    expect(builder).toMatch(/^RUN npm ci\b/m);
    expect(builder).toMatch(/COPY package\.json package-lock\.json/);
    const runtime = text.slice(text.indexOf('AS runtime'));
    expect(runtime).toMatch(/COPY --from=builder/);
    expect(runtime).not.toMatch(/^RUN npm (ci|install)/m);
  });

  it('runs as a non-root user and starts a server with the README command', () => {
    const users = lines.filter((l) => /^USER /i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users[users.length - 1]);
    expect(lines.find((l) => /^CMD /.test(l))).toBe('CMD ["npm", "run", "web"]');
    expect(text).toMatch(/^EXPOSE .*8080/m);
    expect(text).toMatch(/^EXPOSE .*7777/m);
    // Every ENV it sets (but NODE_ENV and HEALTH_URL) is a flag's environment variable.
    const envBlock = /^ENV ([\s\S]*?)\nWORKDIR/m.exec(text.slice(text.indexOf('AS runtime')))![1];
    const keys = [...envBlock.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]).filter((k) => k !== 'NODE_ENV' && k !== 'HEALTH_URL');
    expect(keys.length).toBeGreaterThan(3);
    const flags = read('shared/config.ts') + read('web-server/config.ts') + read('game-server/config.ts');
    for (const k of keys) expect(flags, k).toContain(`env: '${k}'`);
  });

  it('.dockerignore keeps node_modules and local state out of the build context', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['node_modules', 'data', '*.sqlite', '.git']) expect(ignore).toContain(p);
  });

  it('its HEALTHCHECK command passes against a live web server and fails against a dead port', async () => {
    const m = /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/.exec(text);
    expect(m).not.toBeNull();
    const argv = JSON.parse(m![1]) as string[];
    expect(argv[0]).toBe('node');
    const t = tempDir();
    const srv = await startChild('web', baseArgs(join(t.dir, 'hc.sqlite')));
    try {
      const run = (url: string) =>
        spawnSync(process.execPath, argv.slice(1), { env: { ...process.env, HEALTH_URL: url }, timeout: 10_000 }).status;
      expect(run(`${srv.httpBase}/healthz`)).toBe(0);
      await srv.stop();
      expect(run(`${srv.httpBase}/healthz`)).toBe(1);
    } finally {
      await srv.stop();
      t.cleanup();
    }
  }, 180_000);
});
