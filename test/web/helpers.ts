/** Web server test fixtures: an app on a temp SQLite file, cheap hashing, quiet logs, HTTP helpers. */
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions, type WebApp } from '../../web-server/app.ts';
import { webConfig, type WebConfig } from '../../web-server/config.ts';
import { tempDir, TEST_SECRET } from '../helpers/domain.ts';

export function testConfig(dbPath: string, over: Partial<WebConfig> = {}): WebConfig {
  return webConfig({
    store: 'sqlite',
    dbPath,
    hashCost: 4,
    logLevel: 'silent',
    tokenSecret: TEST_SECRET,
    rateLimit: 0,
    eventsPruneMs: 0,
    ...over,
  });
}

export interface Harness {
  app: WebApp;
  dbPath: string;
  close(): Promise<void>;
}

/** One app on a fresh temp SQLite file (or on `dbPath`, to share a file between instances). */
export async function startApp(over: Partial<WebConfig> = {}, opts: BuildOptions & { dbPath?: string } = {}): Promise<Harness> {
  const tmp = opts.dbPath ? undefined : tempDir('tdi-web-');
  const dbPath = opts.dbPath ?? join(tmp!.dir, 'game.sqlite');
  const app = await buildApp(testConfig(dbPath, over), opts);
  return {
    app,
    dbPath,
    async close() {
      await app.close();
      tmp?.cleanup();
    },
  };
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function call(
  app: WebApp,
  method: Method,
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return app.inject({ method, url, headers, ...(opts.body === undefined ? {} : { payload: opts.body as object }) });
}

/** Log in (creating on first use) through HTTP. */
export async function loginHttp(
  app: WebApp,
  name: string,
  password = 'secret-pw',
): Promise<{ playerId: number; token: string; created: boolean }> {
  const res = await call(app, 'POST', '/v1/sessions', { body: { name, password } });
  if (res.statusCode !== 200) throw new Error(`login ${name}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Assert-friendly view of a problem+json answer. */
export function problemOf(res: LightMyRequestResponse): { status: number; contentType: string; body: Record<string, unknown> } {
  return { status: res.statusCode, contentType: String(res.headers['content-type']), body: res.json() };
}
