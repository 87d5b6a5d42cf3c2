/**
 * GET /v1/me/events: the event feed (HTTP cannot push). See event-feed.ts for what a poll returns
 * and how a long-poll is woken.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, EVENTS_OPERATION, EVENTS_PATH } from '../../shared/commands/rest-face.ts';
import { requireActor } from '../auth.ts';
import type { WebPluginOptions } from '../context.ts';
import { ProblemResponses } from '../problem.ts';

export default async function eventRoutes(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  const { runner, feed, config } = ctx;
  const maxWait = Math.max(0, config.eventsMaxWaitMs);
  app.withTypeProvider<TypeBoxTypeProvider>().route({
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
        ...ProblemResponses('Problem'),
      },
    },
    handler: async (req, reply) => {
      const actor = requireActor(req, runner);
      const q = req.query;
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      reply.header('cache-control', 'no-store');
      return feed.poll(actor, q.after, q.waitMs ?? 0, q.limit ?? EVENTS_DEFAULT_LIMIT, ac.signal);
    },
  });
}
