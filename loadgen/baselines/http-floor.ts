/**
 * HTTP floor: a bare Fastify 5 server answering every GET/POST/PUT/DELETE with a small JSON object.
 * Nothing else (no auth, no store, no validation), so it is what the web server would cost if its
 * handlers were free. Run as a child process by compare.ts, on the same terms as the servers.
 */
import Fastify from 'fastify';
import { cliFlags } from '../../shared/config.ts';

const flags = cliFlags('Usage: npx tsx loadgen/baselines/http-floor.ts [options]\nBare Fastify route returning a small JSON object (the HTTP floor).', {
  host: { type: 'string', default: '127.0.0.1', help: 'listen address' },
  port: { type: 'number', default: 0, help: 'listen port (0: any free port)' },
});

const app = Fastify({ logger: false });
const reply = () => ({ serverTime: Date.now() });
app.route({ method: ['GET', 'POST', 'PUT', 'DELETE'], url: '/*', handler: async () => reply() });

const address = await app.listen({ host: flags.host, port: flags.port });
process.stdout.write(`http-floor listening on ${address.replace('localhost', flags.host)}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
