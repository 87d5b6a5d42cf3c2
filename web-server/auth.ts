/**
 * The caller named by `Authorization: Bearer <token>`. Checked at most once per request: the rate
 * limiter (which keys on the player) and the handler share the memoized result.
 */
import type { FastifyRequest } from 'fastify';
import { DomainError, fail } from '../shared/errors.ts';
import type { CommandRunner } from '../shared/runner.ts';

/** What the token check needs from a runner (sync or async). */
type Authenticator = Pick<CommandRunner, 'authenticate'>;

export type AuthResult = { id: number } | { error: DomainError };

declare module 'fastify' {
  interface FastifyRequest {
    /** Memoized result of checking the bearer token (null until someone asks). */
    tdiAuth: AuthResult | null;
  }
}

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

export function authOf(req: FastifyRequest, runner: Authenticator): AuthResult {
  if (req.tdiAuth) return req.tdiAuth;
  const h = req.headers.authorization;
  let result: AuthResult;
  try {
    if (!h) fail('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
    const m = BEARER.exec(h);
    if (!m) fail('UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
    result = { id: runner.authenticate(m[1]) };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    result = { error: e };
  }
  req.tdiAuth = result;
  return result;
}

/** The caller's player id, or the UNAUTHORIZED error thrown. */
export function requireActor(req: FastifyRequest, runner: Authenticator): number {
  const a = authOf(req, runner);
  if ('error' in a) throw a.error;
  return a.id;
}
