/**
 * One route per command of the shared table, with no per-command code: the shape (path params,
 * querystring or body) comes from the command's REST face, the schemas from its input and output,
 * and the handler hands the validated input to the runner.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { CommandDef } from '../../shared/commands/define.ts';
import { commandList } from '../../shared/commands/table.ts';
import type { CommandRunner } from '../../shared/runner.ts';
import { requireActor } from '../auth.ts';
import type { WebContext, WebPluginOptions } from '../context.ts';
import { ProblemResponses } from '../problem.ts';
import { inputFrom, routeShape, tagOf } from './route-shape.ts';

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: 'Operation id: a retry with the same key returns the first result and changes nothing',
    }),
  ),
});

export default async function commandRoutes(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  for (const def of commandList) addCommandRoute(app, def, ctx);
}

function addCommandRoute(app: FastifyInstance, def: CommandDef, ctx: WebContext): void {
  const shape = routeShape(def);
  const { runner, config } = ctx;
  const write = def.kind !== 'read';
  const routeConfig: Record<string, unknown> = { operation: def.name };
  if (def.name === 'player.login' && config.rateLimit > 0 && config.loginRateLimit > 0) {
    routeConfig.rateLimit = {
      max: config.loginRateLimit,
      timeWindow: config.rateLimitWindowMs,
      keyGenerator: (req: FastifyRequest) => `login:${req.ip}`,
    };
  }
  const fromBody = shape.restFrom === 'body';
  const sync = runner.isSync(def.name);
  const inputOf = (req: FastifyRequest) => inputFrom(shape, req.params, fromBody ? req.body : req.query);
  const opIdOf = (req: FastifyRequest): string | undefined => {
    const key = req.headers['idempotency-key'];
    return write && def.auth && typeof key === 'string' ? key : undefined;
  };
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    method: shape.method,
    url: shape.url,
    config: routeConfig,
    schema: {
      operationId: def.name,
      summary: def.summary,
      description: `Command \`${def.name}\` (${def.kind}${def.auth ? ', needs a bearer token' : ''}).`,
      tags: [tagOf(def.name)],
      security: def.auth ? [{ bearerAuth: [] }] : [],
      ...(shape.params ? { params: shape.params } : {}),
      ...(shape.querystring ? { querystring: shape.querystring } : {}),
      ...(shape.body ? { body: shape.body } : {}),
      ...(write && def.auth ? { headers: IdempotencyHeaders } : {}),
      response: { 200: def.output, ...ProblemResponses('Problem (see `code`)') },
    },
    // A POST without a body (e.g. item.use, everything is in the path) is an empty object.
    preValidation: fromBody
      ? (req, _reply, done) => {
          if (req.body === undefined || req.body === null) req.body = {};
          done();
        }
      : undefined,
    // Commands without an async step (all but player.login) run synchronously: a plain handler whose
    // return value Fastify sends at once, without a promise and a microtask per request.
    handler: sync
      ? (req, reply) => {
          const actor = def.auth ? requireActor(req, runner) : null;
          const out = (runner as CommandRunner).runSync(def.name, inputOf(req), actor, { validated: true, opId: opIdOf(req) });
          if (def.auth) reply.header('cache-control', 'no-store');
          return out;
        }
      : async (req, reply) => {
          const actor = def.auth ? requireActor(req, runner) : null;
          const out = await runner.run(def.name, inputOf(req), actor, { validated: true, opId: opIdOf(req) });
          if (def.auth) reply.header('cache-control', 'no-store');
          return out;
        },
  });
}
