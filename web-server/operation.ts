/**
 * A request's operation: the command name, or our own name for the other routes (events.poll,
 * healthz, metrics). It is the metrics label and the OpenAPI operationId; requests that matched no
 * route are "unmatched", those the HTTP parser refused before any routing "unparsed".
 */
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    operation?: string;
  }
}

export const UNMATCHED = 'unmatched';
export const UNPARSED = 'unparsed';

export function operationOf(req: FastifyRequest): string {
  const options = req.routeOptions as { config?: { operation?: string }; url?: string } | undefined;
  return options?.config?.operation ?? options?.url ?? UNMATCHED;
}
