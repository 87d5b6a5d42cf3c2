/**
 * Entry point: `npm run web -- --host 127.0.0.1 --port 8080` (or `npx tsx web-server/server.ts`).
 * Flags and environment variables: `--help`. Prints one line when listening:
 *   web-server listening on http://HOST:PORT (store sqlite data/game.sqlite)
 * SIGINT/SIGTERM: (with --drain-ms, first answer /healthz 503 that long while serving on) stop accepting,
 * let in-flight requests finish (long-polls answer at once), close the store, exit 0. A second signal,
 * or shutdownTimeoutMs passing, exits 1 at once.
 */
import { cliFlags } from '../shared/config.ts';
import { formatStartLine } from '../shared/start-line.ts';
import { normalizeArgv, WEB_USAGE, webFlags } from './config.ts';

const config = cliFlags(WEB_USAGE, webFlags, normalizeArgv(process.argv.slice(2)));
// Loaded after the flags, so --help and flag errors answer without loading Fastify.
const { buildApp } = await import('./app.ts');
const app = await buildApp(config).catch((e: Error) => {
  // A store that cannot be opened (no --db-url, PostgreSQL unreachable at start): one line, not a stack.
  process.stderr.write(`web-server: cannot open the store: ${e.message}\n`);
  process.exit(1);
});

try {
  await app.listen({ host: config.host, port: config.port });
} catch (e) {
  app.log.fatal({ err: e }, 'cannot listen');
  process.stderr.write(`web-server: cannot listen on ${config.host}:${config.port}: ${(e as Error).message}\n`);
  await app.close().catch(() => {});
  process.exit(1);
}
const addr = app.server.address();
const port = addr && typeof addr === 'object' ? addr.port : config.port;
const dbStore = app.web.domain.store;
const storeDesc = config.store === 'sqlite' ? `sqlite ${config.dbPath}` : dbStore.kind === 'postgres' ? dbStore.description : config.store;
process.stdout.write(`${formatStartLine('web-server', 'http', config.host, port, { store: storeDesc })}\n`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    process.stderr.write(`web-server: second ${signal}, exiting now\n`);
    process.exit(1);
  }
  stopping = true;
  app.log.info({ signal }, 'shutting down');
  if (config.drainMs > 0) {
    // Health checks fail from now on; the balancer stops routing here while everything is still served.
    app.web.lifecycle.draining = true;
    await new Promise((r) => setTimeout(r, config.drainMs));
  }
  const timer = setTimeout(() => {
    process.stderr.write(`web-server: in-flight requests still running after ${config.shutdownTimeoutMs} ms, exiting\n`);
    process.exit(1);
  }, config.shutdownTimeoutMs);
  timer.unref();
  try {
    await app.close();
    process.stdout.write('web-server stopped\n');
    process.exitCode = 0;
  } catch (e) {
    process.stderr.write(`web-server: error while closing: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
