/**
 * Errors on the wire: every failure is an RFC 9457 `application/problem+json` body
 * `{ type, title, status, detail, code }` whose code and status come from the shared ErrorCodes table.
 */
import Type from 'typebox';
import { ErrorCodes, isDomainError, type ErrorCode } from '../shared/errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'urn:tdi:error:<CODE>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'one of the shared ErrorCodes' }),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Problem', description: 'application/problem+json error body' },
);

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: { path: string; message: string }[];
  details?: unknown;
}

export function problem(code: ErrorCode, detail: string, extra: { errors?: ProblemBody['errors']; details?: unknown } = {}): ProblemBody {
  const e = ErrorCodes[code];
  const body: ProblemBody = { type: `urn:tdi:error:${code}`, title: e.title, status: e.status, detail, code };
  if (extra.errors) body.errors = extra.errors;
  if (extra.details !== undefined) body.details = extra.details;
  return body;
}

/** Fastify's own error codes that are the client's fault, mapped onto ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID',
  FST_ERR_BAD_URL: 'INVALID',
  FST_ERR_ASYNC_CONSTRAINT: 'INVALID',
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SHUTTING_DOWN',
};

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string }[];
  validationContext?: string;
}

/**
 * Turn anything thrown while serving a request into a problem. `internal` is true when it was not
 * the client's fault (log it; never show its message or stack to the client).
 */
export function toProblem(err: unknown): { body: ProblemBody; internal: boolean } {
  if (isDomainError(err)) {
    const d = err.details as { errors?: { path: string; message: string }[] } | undefined;
    if (err.code === 'INVALID' && d && Array.isArray(d.errors)) {
      return { body: problem('INVALID', err.message, { errors: d.errors }), internal: false };
    }
    const extra = err.details === undefined ? {} : { details: err.details };
    return { body: problem(err.code, err.message, extra), internal: err.code === 'INTERNAL' };
  }
  const e = (err ?? {}) as FastifyishError;
  if (Array.isArray(e.validation)) {
    const where = e.validationContext ?? 'request';
    const errors = e.validation.slice(0, 5).map((v) => ({
      path: `${where}${v.instancePath || ''}` || '/',
      message: v.message ?? 'invalid',
    }));
    const detail = `invalid ${where}: ${errors.map((x) => `${x.path} ${x.message}`).join('; ')}`;
    return { body: problem('INVALID', detail, { errors }), internal: false };
  }
  if (e.code && FASTIFY_CODES[e.code]) {
    const code = FASTIFY_CODES[e.code];
    const detail =
      e.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
        ? 'malformed JSON body'
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'request bodies must be application/json'
          : e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? 'request body is larger than the server accepts'
            : (e.message ?? code);
    return { body: problem(code, detail), internal: false };
  }
  if (err instanceof SyntaxError && e.statusCode === 400) return { body: problem('INVALID', 'malformed JSON body'), internal: false };
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'INVALID';
    // Keep the status Fastify chose even when our table maps it to a neighbour (e.g. 405 → INVALID).
    const body = problem(code, e.message ?? ErrorCodes[code].title);
    body.status = status;
    return { body, internal: false };
  }
  return { body: problem('INTERNAL', 'internal error'), internal: true };
}

/** The error half of a route's `response` schema (OpenAPI: problem+json for 4xx and 5xx). */
export function ProblemResponses(description: string) {
  const entry = (d: string) => ({ description: d, content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } });
  return { '4xx': entry(description), '5xx': entry('Problem') };
}
