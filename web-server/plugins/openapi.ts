/**
 * The OpenAPI document (/docs/json) and, when config.docs is on, Swagger UI (/docs). Registered before
 * the routes: @fastify/swagger collects the routes added after it.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { WebPluginOptions } from '../context.ts';

async function openapi(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
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
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'token from player.login (POST /v1/sessions)' } },
      },
    },
  });
  if (ctx.config.docs) await app.register(swaggerUi, { routePrefix: '/docs' });
}

export default fp(openapi, { name: 'tdi-openapi', fastify: '5.x' });
