/**
 * TCP floor: a bare `net` server speaking the game server's framing (4-byte BE length + msgpack,
 * shared/protocol/frame.ts). It sends the welcome push, then answers every request frame
 * `{id, op, body}` with `{id, ok: true, body: {serverTime}}`: decode + encode per frame, one write
 * per received chunk. No sessions, no commands: the floor under the game server.
 */
import { createServer } from 'node:net';
import { cliFlags } from '../../shared/config.ts';
import { encodeFrame, FrameDecoder } from '../../shared/protocol/frame.ts';

const flags = cliFlags('Usage: npx tsx loadgen/baselines/tcp-floor.ts [options]\nBare net server echoing length-prefixed msgpack frames (the TCP floor).', {
  host: { type: 'string', default: '127.0.0.1', help: 'listen address' },
  port: { type: 'number', default: 0, help: 'listen port (0: any free port)' },
});

const server = createServer({ noDelay: true }, (sock) => {
  const dec = new FrameDecoder();
  const frames: unknown[] = [];
  sock.write(encodeFrame({ ev: 'welcome', body: { server: 'tcp-floor' } }));
  sock.on('data', (chunk) => {
    frames.length = 0;
    dec.push(chunk, frames);
    if (dec.error) {
      sock.destroy();
      return;
    }
    if (frames.length === 0) return;
    const now = Date.now();
    const out: Buffer[] = [];
    for (const f of frames) out.push(encodeFrame({ id: (f as { id?: unknown }).id, ok: true, body: { serverTime: now } }));
    sock.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
  sock.on('error', () => sock.destroy());
});
server.listen(flags.port, flags.host, () => {
  const a = server.address() as { address: string; port: number };
  process.stdout.write(`tcp-floor listening on tcp://${a.address}:${a.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', stop);
