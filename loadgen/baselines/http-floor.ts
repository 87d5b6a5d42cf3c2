/**
 * The HTTP rungs of the ladder of floors: bare Fastify 5 with one plain route per command of the
 * table (the same paths the web server serves, no schemas, no hooks, no plugins), in three rungs:
 *
 *  - `wire`: answers every route with a canned output of the command (baselines/samples.ts), so the
 *    response is the size the web server sends; login returns a token-shaped string. HTTP + JSON only.
 *  - `auth`: + the bearer token checked on every request with shared/auth/token.ts (the same
 *    TokenSigner the web server uses; login issues a real token without a password hash or a store).
 *  - `store`: + the command run against the store with the shared CommandRunner, stateless (no
 *    cache: every request reads the player from the store; writes commit before the answer, events
 *    persisted as the web server does). This is the **stateless floor**: what any stateless server
 *    of this game must do per request.
 *
 * What every rung skips that the web server does: Fastify schema validation and response
 * serializers (the runner still validates input in `store`), the hooks (metrics, shutdown
 * tracking), problem+json bodies, idempotency headers, rate limiting, OpenAPI. Run as a child
 * process by compare.ts, on the same terms as the servers.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { TokenSigner } from '../../shared/auth/token.ts';
import { commandDefs } from '../../shared/commands/table.ts';
import { cliFlags, commonFlags } from '../../shared/config.ts';
import { openDomain } from '../../shared/domain.ts';
import { DomainError, ErrorCodes } from '../../shared/errors.ts';
import { CommandRunner } from '../../shared/runner.ts';
import { formatStartLine } from '../../shared/start-line.ts';
import { commandSamples } from './samples.ts';

const flags = cliFlags('Usage: npx tsx loadgen/baselines/http-floor.ts [options]\nBare Fastify floors: wire, + auth, + store (the ' +
  'stateless floor).', {
  ...commonFlags,
  host: { type: 'string', default: '127.0.0.1', help: 'listen address' },
  port: { type: 'number', default: 0, help: 'listen port (0: any free port)' },
  rung: { type: 'string', default: 'wire', choices: ['wire', 'auth', 'store'], help: 'what the floor does per request' },
});

const samples = await commandSamples();
const FAKE_TOKEN = 'v1.1.9999999999999.' + 'x'.repeat(43);
const signer = new TokenSigner('http-floor-secret-0123456789abcdef', flags.tokenTtl * 1000);
const domain = flags.rung === 'store' ? openDomain(flags) : null;
const runner = domain
  ? new CommandRunner(
    { store: domain.store, tokens: domain.tokens, rules: domain.rules, hashCost: domain.hashCost, realtime: 'store', persistEvents: true }
  )
  : null;
const ids = new Map<string, number>();

const bearer = (req: FastifyRequest) => {
  const h = req.headers.authorization;
  return h && h.startsWith('Bearer ') ? h.slice(7) : undefined;
};
const refuse = (reply: FastifyReply, e: DomainError) => reply.code(ErrorCodes[e.code].status).send(
  { code: e.code, detail: e.message, details: e.details }
);

const app = Fastify({ logger: false });
for (const [name, def] of Object.entries(commandDefs)) {
  const pathFields = [...def.http.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const url = def.http.path.replace(/\{(\w+)\}/g, ':$1');
  const sample = samples.get(name);
  app.route({
    method: def.http.method,
    url,
    handler: async (req, reply) => {
      if (name === 'player.login') {
        const body = (req.body ?? {}) as { name?: string; password?: string };
        if (runner) return runner.run(name, body, null).catch((e) => (e instanceof DomainError ? refuse(reply, e) : Promise.reject(e)));
        if (flags.rung === 'wire') return { ...(sample as object), token: FAKE_TOKEN };
        let id = ids.get(String(body.name));
        if (id === undefined) ids.set(String(body.name), (id = ids.size + 1));
        return { ...(sample as object), playerId: id, ...signer.issue(id, Date.now()) };
      }
      if (flags.rung === 'wire') return sample;
      try {
        if (!runner) {
          if (def.auth && !signer.verify(bearer(req) ?? '', Date.now())) throw new DomainError('UNAUTHORIZED', 'invalid or expired token');
          return sample;
        }
        const actor = def.auth ? runner.authenticate(bearer(req)) : null;
        const input: Record<string, unknown> = {
          ...((def.http.method === 'GET' || def.http.method === 'DELETE' ? req.query : req.body) as object)
        };
        for (const f of pathFields) input[f] = (req.params as Record<string, string>)[f];
        return runner.runSync(name, input, actor);
      } catch (e) {
        if (e instanceof DomainError) return refuse(reply, e);
        throw e;
      }
    },
  });
}

const address = await app.listen({ host: flags.host, port: flags.port });
const { port } = new URL(address);
process.stdout.write(`${formatStartLine('http-floor', 'http', flags.host, Number(port), { rung: flags.rung })}\n`);
const stop = () =>
  void app.close().then(() => {
    domain?.store.close();
    process.exit(0);
  });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
