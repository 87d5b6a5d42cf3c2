/**
 * The takeout counter: a stateless Fastify app over the shared command table. Each request carries
 * everything needed (bearer token, idempotency key, cursor); all state is in the store, so any number
 * of instances on one store serve any client interchangeably.
 *
 * buildApp(config) is what tests use (inject, or listen on port 0); server.ts adds flags, the start
 * line and signal handling.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { commandList } from '../shared/commands/table.ts';
import type { CommandDef } from '../shared/commands/define.ts';
import { openDomain, type Domain } from '../shared/domain.ts';
import { DomainError, fail } from '../shared/errors.ts';
import { CommandRunner } from '../shared/runner.ts';
import type { Store } from '../shared/store/store.ts';
import type { WebConfig } from './config.ts';
import { EventFeed } from './event-feed.ts';
import { Metrics, METRICS_CONTENT_TYPE } from './metrics.ts';
import { Problem, problem, PROBLEM_CONTENT_TYPE, toProblem, type ProblemBody } from './problem.ts';
import { inputFrom, routeShape, tagOf } from './routes.ts';

export const EVENTS_OPERATION = 'events.poll';
export const EVENTS_PATH = '/v1/me/events';
const EVENTS_MAX_LIMIT = 500;

export interface BuildOptions {
  /** Use this store instead of opening one from config (the caller keeps ownership: not closed on app close). */
  store?: Store;
  /** Fastify logger option override (default: pino at config.logLevel). */
  logger?: boolean | { level: string };
}

export interface WebContext {
  config: WebConfig;
  domain: Domain;
  runner: CommandRunner;
  feed: EventFeed;
  metrics: Metrics;
  /** True from the start of close(): new requests get 503 SHUTTING_DOWN. */
  readonly closing: boolean;
  /** Requests received so far, and those not answered yet. */
  readonly received: number;
  readonly inFlight: number;
}

export type WebApp = FastifyInstance & { web: WebContext };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The command name (or our own operation name) of the route: the metrics label and operationId. */
    operation?: string;
  }
  interface FastifyRequest {
    /** Memoized result of checking the bearer token (done once, by the rate limiter or the handler). */
    tdiAuth: { id: number } | { error: DomainError } | null;
  }
}

const ProblemResponse = (description: string) => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } });

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 100, description: 'Operation id: a retry with the same key returns the first result and changes nothing' }),
  ),
});

export async function buildApp(config: WebConfig, opts: BuildOptions = {}): Promise<WebApp> {
  const domain = openDomain(config, opts.store);
  const ownsStore = !opts.store;
  const metrics = new Metrics();
  const feed = new EventFeed({
    store: domain.store,
    pollMs: config.eventsPollMs,
    retentionMs: config.eventsRetentionS * 1000,
    pruneMs: config.eventsPruneMs,
  });
  const runner = new CommandRunner({
    store: domain.store,
    tokens: domain.tokens,
    rules: domain.rules,
    hashCost: domain.hashCost,
    realtime: 'store',
    persistEvents: true,
    onEvents: feed.onEvents,
  });
  let closing = false;
  let received = 0;
  const inFlight = new Set<FastifyRequest>();
  const ctx: WebContext = {
    config,
    domain,
    runner,
    feed,
    metrics,
    get closing() {
      return closing;
    },
    get received() {
      return received;
    },
    get inFlight() {
      return inFlight.size;
    },
  };

  const fastify = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    // We answer requests that arrive on kept-alive connections during close ourselves (problem+json 503).
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const app = fastify as unknown as WebApp;
  app.decorate('web', ctx);
  app.decorateRequest('tdiAuth', null);
  // TypeBox's compiler for the shared schemas: bodies are checked as sent (no coercion), querystring,
  // params and headers are converted from strings first.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // Only JSON bodies: anything else is 415 rather than a string that fails validation.
  app.removeContentTypeParser('text/plain');

  // ---- errors: everything leaves as application/problem+json ----
  const sendProblem = (req: FastifyRequest, reply: FastifyReply, body: ProblemBody) => {
    metrics.error(operationOf(req), body.code);
    if (body.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="tdi"');
    if (closing) reply.header('connection', 'close');
    return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
  };
  app.setErrorHandler((err: FastifyError | DomainError, req, reply) => {
    const { body, internal } = toProblem(err);
    if (internal) req.log.error({ err }, 'internal error');
    else req.log.debug({ code: body.code, detail: body.detail }, 'request refused');
    return sendProblem(req, reply, body);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(req, reply, problem('UNKNOWN_OP', `no route ${req.method} ${req.url.split('?')[0]}`)));

  // ---- shutdown: refuse new work, end long-polls, then (after in-flight requests) close the store ----
  // Hooks on every request are callback-style, not async: an async hook costs a promise and a tick
  // per request, which shows at tens of thousands of requests per second.
  app.addHook('onRequest', (req, reply, done) => {
    received++;
    inFlight.add(req);
    if (closing) {
      reply.header('connection', 'close');
      return done(new DomainError('SHUTTING_DOWN', 'server is shutting down; retry on another instance'));
    }
    done();
  });
  // Responses finished during close end their connection, or kept-alive sockets would hold close() open.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('preClose', async () => {
    closing = true;
    feed.close();
  });
  app.addHook('onClose', async () => {
    feed.close();
    // A listening server gets here after its in-flight requests; injected ones (tests) may still run:
    // let them finish before the store goes away (bounded).
    const end = Date.now() + config.shutdownTimeoutMs;
    while (inFlight.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (ownsStore) domain.store.close();
  });

  // ---- metrics ----
  app.addHook('onRequestAbort', (req, done) => {
    inFlight.delete(req);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    inFlight.delete(req);
    metrics.observe(operationOf(req), req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  metrics.gauge('http_requests_in_flight', 'Requests received and not answered yet.', () => inFlight.size);
  metrics.gauge('web_event_polls_pending', 'Long-polls waiting on /v1/me/events on this instance.', () => feed.pending);
  metrics.counter('web_event_wakeups_local_total', 'Long-polls woken by a command committed on this instance.', () => feed.stats.wakeLocal);
  metrics.counter('web_event_wakeups_store_total', 'Long-polls woken by the periodic store check (other instances).', () => feed.stats.wakeStore);
  metrics.counter('web_events_pruned_total', 'Events deleted past retention.', () => feed.stats.pruned);

  // ---- OpenAPI + Swagger UI (registered first: they see every route added after them) ----
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Takeout counter: the REST face of the command table',
        version: '1',
        description:
          'Every command of the shared command table, generated (operationId = command name). Errors are application/problem+json. ' +
          'Write commands accept an Idempotency-Key header. HTTP cannot push: poll GET /v1/me/events for events.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'token from player.login (POST /v1/sessions)' } } },
    },
  });
  if (config.docs) await app.register(swaggerUi, { routePrefix: '/docs' });

  // ---- rate limiting: per player (bearer token) or per IP; player.login has its own, stricter one ----
  if (config.rateLimit > 0) {
    await app.register(rateLimit, {
      global: true,
      max: config.rateLimit,
      timeWindow: config.rateLimitWindowMs,
      keyGenerator: (req) => {
        const a = authOf(req, runner);
        return a && 'id' in a ? `p:${a.id}` : `ip:${req.ip}`;
      },
      errorResponseBuilder: (_req, c) => new DomainError('RATE_LIMITED', `rate limit exceeded (${c.max} per window), retry in ${c.after}`),
    });
  }

  // ---- the command table ----
  for (const def of commandList) addCommandRoute(app, def, ctx);

  // ---- the event feed ----
  const maxWait = Math.max(0, config.eventsMaxWaitMs);
  app.route({
    method: 'GET',
    url: EVENTS_PATH,
    config: { operation: EVENTS_OPERATION },
    schema: {
      operationId: EVENTS_OPERATION,
      summary:
        'Events for the caller after a cursor: its own, plus its current channel’s (minus those it caused). ' +
        'Without `after`, starts at the newest event (no history). With waitMs, waits up to that long for the first event (long-poll).',
      tags: ['events'],
      security: [{ bearerAuth: [] }],
      querystring: Type.Object(
        {
          after: Type.Optional(Type.Integer({ minimum: 0, description: 'cursor from the previous answer; omitted = now' })),
          waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: maxWait, description: `long-poll wait, ms (max ${maxWait})` })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: EVENTS_MAX_LIMIT })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          events: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String(), body: Type.Unknown(), at: Type.Integer() })),
          cursor: Type.Integer({ description: 'pass as `after` next time' }),
        }),
        '4xx': ProblemResponse('Problem'),
        '5xx': ProblemResponse('Problem'),
      },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req, runner);
      const q = req.query as { after?: number; waitMs?: number; limit?: number };
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      reply.header('cache-control', 'no-store');
      return feed.poll(actor, q.after, q.waitMs ?? 0, q.limit ?? 100, ac.signal);
    },
  });

  // ---- health and metrics (not rate limited, not in the API document) ----
  app.get('/healthz', { config: { operation: 'healthz', rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    if (closing) fail('SHUTTING_DOWN', 'shutting down');
    const lastEventId = domain.store.lastEventId();
    reply.header('cache-control', 'no-store');
    return { status: 'ok', store: domain.store.kind, lastEventId, pendingPolls: feed.pending };
  });
  app.get('/metrics', { config: { operation: 'metrics', rateLimit: false }, schema: { hide: true } }, async (_req, reply) => {
    reply.type(METRICS_CONTENT_TYPE).header('cache-control', 'no-store');
    return metrics.render();
  });

  await app.ready();
  return app;
}

function addCommandRoute(app: WebApp, def: CommandDef, ctx: WebContext): void {
  const shape = routeShape(def);
  const { runner, config } = ctx;
  const write = def.kind !== 'read';
  const routeConfig: Record<string, unknown> = { operation: def.name };
  if (def.name === 'player.login' && config.rateLimit > 0 && config.loginRateLimit > 0) {
    routeConfig.rateLimit = { max: config.loginRateLimit, timeWindow: config.rateLimitWindowMs, keyGenerator: (req: FastifyRequest) => `login:${req.ip}` };
  }
  const fromBody = shape.restFrom === 'body';
  app.route({
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
      response: {
        200: def.output,
        '4xx': ProblemResponse('Problem (see `code`)'),
        '5xx': ProblemResponse('Problem'),
      },
    },
    // A POST without a body (e.g. item.use, everything is in the path) is an empty object.
    preValidation: fromBody
      ? (req, _reply, done) => {
          if (req.body === undefined || req.body === null) req.body = {};
          done();
        }
      : undefined,
    handler: async (req, reply) => {
      const actor = def.auth ? requireActor(req, runner) : null;
      const input = inputFrom(shape, req.params, fromBody ? req.body : req.query);
      const key = req.headers['idempotency-key'];
      const opId = write && def.auth && typeof key === 'string' ? key : undefined;
      const out = await runner.run(def.name, input, actor, { validated: true, opId });
      if (def.auth) reply.header('cache-control', 'no-store');
      return out;
    },
  });
}

function operationOf(req: FastifyRequest): string {
  const c = req.routeOptions?.config as { operation?: string } | undefined;
  if (c?.operation) return c.operation;
  const url = req.routeOptions?.url;
  return url ?? 'unmatched';
}

/** The caller named by `Authorization: Bearer <token>`, checked once per request. */
function authOf(req: FastifyRequest, runner: CommandRunner): FastifyRequest['tdiAuth'] {
  if (req.tdiAuth) return req.tdiAuth;
  const h = req.headers.authorization;
  let result: NonNullable<FastifyRequest['tdiAuth']>;
  try {
    if (!h) fail('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    if (!m) fail('UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
    result = { id: runner.authenticate(m[1]) };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    result = { error: e };
  }
  req.tdiAuth = result;
  return result;
}

function requireActor(req: FastifyRequest, runner: CommandRunner): number {
  const a = authOf(req, runner)!;
  if ('error' in a) throw a.error;
  return a.id;
}

