/**
 * The generated HAProxy configurations: HAProxy itself accepts them (`haproxy -c`), the one
 * docker-compose mounts is exactly what the generator writes, and the stats CSV is read right.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  COMPOSE_HAPROXY_PATH, composeHaproxyConfig, HAPROXY_DEFAULTS, parseStatsCsv, renderHaproxyConfig,
} from '../../loadgen/cluster/haproxy-config.ts';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';

function check(cfg: string): { status: number | null; out: string } {
  const dir = mkdtempSync(join(os.tmpdir(), 'hacfg-'));
  try {
    writeFileSync(join(dir, 'h.cfg'), cfg);
    const r = spawnSync('haproxy', ['-c', '-f', join(dir, 'h.cfg')], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('haproxy config', () => {
  it('the cluster\'s config is valid: health checks on /healthz, retries only refused connections, every server listed', () => {
    const cfg = renderHaproxyConfig({
      ...HAPROXY_DEFAULTS, bindHost: '127.0.0.1', bindPort: 18080, statsPort: 18081,
      servers: [1, 2, 3].map((i) => ({ name: `web${i}`, host: '127.0.0.1', port: 18090 + i })),
    });
    const r = check(cfg);
    expect(r.status, r.out).toBe(0);
    expect(cfg).toMatch(/http-check send meth GET uri \/healthz/);
    expect(cfg).toMatch(/retry-on conn-failure\n/);
    expect(cfg).not.toMatch(/empty-response|response-timeout|all-retryable|\b50\d\b/);
    for (const i of [1, 2, 3]) expect(cfg).toContain(`server web${i} 127.0.0.1:1809${i}`);
  });

  it(`${COMPOSE_HAPROXY_PATH} is the generator's output (npx tsx loadgen/cluster/write-compose-config.ts) and valid`, () => {
    const file = readFileSync(join(REPO_ROOT, COMPOSE_HAPROXY_PATH), 'utf8');
    expect(file).toBe(composeHaproxyConfig());
    const r = check(file);
    expect(r.status, r.out).toBe(0);
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as any;
    expect(compose.services.haproxy.volumes).toContain(`./${COMPOSE_HAPROXY_PATH}:/usr/local/etc/haproxy/haproxy.cfg:ro`);
    expect(file).toMatch(/server-template web \d+ web:8080/);
    expect(compose.services.web.environment.WEB_PORT).toBe('8080');
    expect(compose.services.web.environment.REDIS_URL).toBe('redis://redis:6379');
  });

  it('reads server states from the stats CSV', () => {
    const csv = [
      '# pxname,svname,qcur,status,weight',
      'web,FRONTEND,,OPEN,',
      'web,web1,0,UP,1',
      'web,web2,0,DOWN,1',
      'web,web3,0,UP 1/2,1',
      'web,web4,0,MAINT,1',
      'web,BACKEND,0,UP,2',
      'stats,FRONTEND,,OPEN,',
    ].join('\n');
    expect(parseStatsCsv(csv)).toEqual({ web1: 'UP', web2: 'DOWN', web3: 'UP', web4: 'MAINT' });
  });
});
