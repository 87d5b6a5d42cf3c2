/**
 * Shutdown: from the start of close() new requests get 503 SHUTTING_DOWN and every response closes
 * its connection (kept-alive sockets would otherwise hold close() open); long-polls answer at once;
 * the store is closed last, after the requests in flight.
 * Hooks that run on every request are callback-style, not async: an async hook costs a promise and a
 * tick per request, which shows at tens of thousands of requests per second. For the same reason the
 * `Connection: close` of responses finished during close is set once, on the replies in flight when
 * close begins, rather than by an onSend hook that every response would run.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../shared/errors.ts';
import type { WebPluginOptions } from '../context.ts';

async function lifecycle(app: FastifyInstance, { ctx }: WebPluginOptions): Promise<void> {
  const state = ctx.lifecycle;
  app.addHook('onRequest', (_req, reply, done) => {
    state.received++;
    state.inFlight.add(reply);
    if (state.closing) {
      reply.header('connection', 'close');
      return done(new DomainError('SHUTTING_DOWN', 'server is shutting down; retry on another instance'));
    }
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    for (const reply of state.inFlight) if (reply.request === req) state.inFlight.delete(reply);
    done();
  });
  app.addHook('onResponse', (_req, reply, done) => {
    state.inFlight.delete(reply);
    done();
  });
  app.addHook('preClose', async () => {
    state.closing = true;
    for (const reply of state.inFlight) if (!reply.raw.headersSent) reply.header('connection', 'close');
    ctx.feed.close();
  });
  app.addHook('onClose', async () => {
    ctx.feed.close();
    // A listening server gets here after its in-flight requests; injected ones (tests) may still run:
    // let them finish before the store goes away (bounded).
    const end = Date.now() + ctx.config.shutdownTimeoutMs;
    while (state.inFlight.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (ctx.ownsStore) await ctx.domain.store.close();
  });
}

export default fp(lifecycle, { name: 'tdi-lifecycle', fastify: '5.x' });
