/**
 * The TCP rungs of the ladder of floors: a bare `net` server speaking the game server's framing
 * (4-byte BE length + msgpack, shared/protocol/frame.ts). It sends the welcome push, then answers
 * every request frame `{id, op, body}` with `{id, ok, body}`; one write per received chunk.
 *
 *  - `wire`: the body is a canned output of the command (baselines/samples.ts), the size the game
 *    server sends. Framed MessagePack only.
 *  - `durable`: + the command run with the shared CommandRunner on a per-connection session, the
 *    way a stateful server does: login once per connection, players kept in memory (a plain Map as
 *    the runner's cache), every write committed to the store before its answer, the commands of one
 *    received chunk in one transaction (group commit, as the game server does per completion batch).
 *    This is the **durable floor**.
 *
 * What both skip that the game server does: its I/O core (IOCP-modeled ports, completion workers),
 * admission and back-pressure, idempotency by operation id, channels and pushes, the admin
 * endpoint, metrics. Run as a child process by compare.ts, on the same terms as the servers.
 */
import { createServer, type Socket } from 'node:net';
import { cliFlags, commonFlags } from '../../shared/config.ts';
import { openDomain } from '../../shared/domain.ts';
import { DomainError } from '../../shared/errors.ts';
import type { PlayerState } from '../../shared/model.ts';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';
import { CommandRunner } from '../../shared/runner.ts';
import { formatStartLine } from '../../shared/start-line.ts';
import { allocShared, SharedChannels } from '../../game-server/cross-worker-counters.ts';
import { commandSamples } from './samples.ts';

const flags = cliFlags('Usage: npx tsx loadgen/baselines/tcp-floor.ts [options]\nBare net server on the game framing: wire, or durable ' +
  '(the durable floor).', {
  ...commonFlags,
  host: { type: 'string', default: '127.0.0.1', help: 'listen address' },
  port: { type: 'number', default: 0, help: 'listen port (0: any free port)' },
  rung: { type: 'string', default: 'wire', choices: ['wire', 'durable'], help: 'what the floor does per request' },
});

const samples = await commandSamples();
const domain = flags.rung === 'durable' ? openDomain(flags) : null;
const players = new Map<number, PlayerState>();
const runner = domain
  ? new CommandRunner({
      store: domain.store,
      tokens: domain.tokens,
      rules: domain.rules,
      hashCost: domain.hashCost,
      realtime: 'memory',
      // the game server's own channel counters, so a channel command costs here what it costs there
      channels: new SharedChannels(allocShared(domain.rules.channelsPerPlace)),
      persistEvents: false,
      cache: { get: (id) => players.get(id), set: (p) => void players.set(p.id, p) },
    })
  : null;

type Req = { id?: unknown; op?: unknown; body?: unknown };
const errorFrame = (id: unknown, e: unknown) =>
  encodeFrame(
    {
      id, ok: false,
      error: e instanceof DomainError ? { code: e.code, message: e.message, details: e.details } : { code: 'INTERNAL', message: String(e) }
    }
  );

/** Requests of the current event-loop turn, all connections: one group commit in setImmediate. */
type Pending = { sock: Socket; actor: number | null; req: Req };
let pending: Pending[] = [];
let flushQueued = false;

function commitPending(): void {
  flushQueued = false;
  const list = pending;
  pending = [];
  if (!runner || list.length === 0) return;
  const answers: Buffer[] = new Array(list.length);
  try {
    runner.batch(() => {
      for (let i = 0; i < list.length; i++) {
        const { req, actor } = list[i];
        try {
          answers[i] = encodeFrame({ id: req.id, ok: true, body: runner.runSync(String(req.op), req.body, actor) });
        } catch (e) {
          answers[i] = errorFrame(req.id, e);
        }
      }
    });
  } catch (e) {
    // The group commit failed: nothing of it is durable, so every answer is the error.
    for (let i = 0; i < list.length; i++) answers[i] = errorFrame(list[i].req.id, e);
  }
  // one write per connection, its answers in arrival order
  const perSocket = new Map<Socket, Buffer[]>();
  for (let i = 0; i < list.length; i++) {
    const bufs = perSocket.get(list[i].sock);
    if (bufs) bufs.push(answers[i]);
    else perSocket.set(list[i].sock, [answers[i]]);
  }
  for (const [sock, bufs] of perSocket) if (!sock.destroyed) sock.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
}

const server = createServer({ noDelay: true }, (sock) => {
  const dec = new FrameDecoder();
  const frames: unknown[] = [];
  let actor: number | null = null;
  sock.write(encodeFrame({ ev: 'welcome', body: { server: `tcp-floor ${flags.rung}` } }));
  sock.on('data', (chunk) => {
    frames.length = 0;
    dec.push(chunk, frames);
    if (dec.error) {
      sock.destroy();
      return;
    }
    if (frames.length === 0) return;
    if (!runner) {
      const out: Buffer[] = [];
      for (const f of frames as Req[]) out.push(encodeFrame({ id: f.id, ok: true, body: samples.get(String(f.op)) }));
      sock.write(out.length === 1 ? out[0] : Buffer.concat(out));
      return;
    }
    for (const f of frames as Req[]) {
      if (f.op === 'player.login') {
        runner.run('player.login', f.body, null).then(
          (b) => {
            actor = (b as { playerId: number }).playerId;
            sock.write(encodeFrame({ id: f.id, ok: true, body: b }));
          },
          (e) => sock.write(errorFrame(f.id, e)),
        );
      } else pending.push({ sock, actor, req: f });
    }
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(commitPending);
    }
  });
  sock.on('error', () => sock.destroy());
});
server.listen(flags.port, flags.host, () => {
  const a = server.address() as { address: string; port: number };
  process.stdout.write(`${formatStartLine('tcp-floor', 'tcp', a.address, a.port, { rung: flags.rung })}\n`);
});
const stop = () => {
  domain?.store.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
