/**
 * Every error the server sends is application/problem+json, whoever raises it:
 *  - handlers, hooks, validation and Fastify's body parsing: the error handler;
 *  - no route: the not-found handler (UNKNOWN_OP);
 *  - the router, before any hook runs (a malformed URL, a path parameter over maxParamLength: 414):
 *    Fastify's `frameworkErrors` option;
 *  - Node's HTTP parser, before Fastify sees a request (headers or request line over the size limit:
 *    431; a malformed request line: 400; a request that takes too long to arrive: 408): Fastify's
 *    `clientErrorHandler` option, which writes the answer on the raw socket and closes it.
 * The two options are set when the Fastify instance is made (problemServerOptions); the plugin
 * installs the handlers. Codes come from the shared table; a status our table has no code for keeps
 * Fastify's status with the nearest code (INVALID).
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { DomainError } from '../../shared/errors.ts';
import type { WebContext, WebPluginOptions } from '../context.ts';
import { operationOf, UNPARSED } from '../operation.ts';
import { problem, PROBLEM_CONTENT_TYPE, toProblem, type ProblemBody } from '../problem.ts';

export type SendProblem = (req: FastifyRequest, reply: FastifyReply, body: ProblemBody) => FastifyReply;

function problemSender(ctx: WebContext): SendProblem {
  return (req, reply, body) => {
    ctx.metrics.error(operationOf(req), body.code);
    if (body.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="tdi"');
    if (ctx.lifecycle.closing) reply.header('connection', 'close');
    return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
  };
}

/** The parser's error → the status Node would have answered with. */
function clientErrorStatus(err: NodeJS.ErrnoException): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const CLIENT_ERROR_DETAIL: Record<number, string> = {
  431: 'request line and headers are larger than the server accepts',
  408: 'the request did not arrive in time',
  400: 'malformed HTTP request',
};

/** Fastify constructor options that route pre-routing errors into problem+json. */
export function problemServerOptions(ctx: WebContext): Pick<FastifyServerOptions, 'clientErrorHandler' | 'frameworkErrors'> {
  const sendProblem = problemSender(ctx);
  return {
    clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
      // A reset or already-closed socket has no one to answer.
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const status = clientErrorStatus(err);
      const body = problem('INVALID', CLIENT_ERROR_DETAIL[status]);
      body.status = status;
      ctx.metrics.error(UNPARSED, body.code);
      if (socket.writable) {
        const json = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
            `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
        );
      }
      socket.destroy();
    },
    frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
      // FST_ERR_MAX_PARAM_LENGTH carries 414, FST_ERR_BAD_URL 400: toProblem keeps the status.
      sendProblem(req, reply, toProblem(err).body);
    },
  };
}

async function problems(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  const sendProblem = problemSender(ctx);
  app.setErrorHandler((err: FastifyError | DomainError, req, reply) => {
    const { body, internal } = toProblem(err);
    if (internal) req.log.error({ err }, 'internal error');
    else req.log.debug({ code: body.code, detail: body.detail }, 'request refused');
    return sendProblem(req, reply, body);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(req, reply, problem('UNKNOWN_OP', `no route ${req.method} ${req.url.split('?')[0]}`)));
}

export default fp(problems, { name: 'tdi-problems', fastify: '5.x' });
