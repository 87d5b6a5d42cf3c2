/**
 * The bus, measured: the one-way latency of a small message (a push: ~120 bytes of JSON) through
 * Redis pub/sub and through NATS core, both running on this machine, publisher and subscriber in
 * this process. Messages are sent one at a time (the push path: each gift is its own message) and
 * then in a burst (throughput). NATS is spoken over a raw socket (its text protocol: CONNECT, SUB,
 * PUB, MSG) since its client library is not a dependency.
 *
 *   npx tsx loadgen/shards/bus-bench.ts [--messages 2000] [--nats-url nats://127.0.0.1:4222]
 */
import net from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';
import { cliFlags } from '../../shared/config.ts';

const f = cliFlags('usage: tsx loadgen/shards/bus-bench.ts [options]', {
  messages: { type: 'number', default: 2000, help: 'messages per phase' },
  redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis' },
  natsUrl: { type: 'string', default: 'nats://127.0.0.1:4222', env: 'NATS_URL', help: 'NATS' },
});

const body = JSON.stringify({ t: 'ev', player: 12345, name: 'item.received', body: { from: 1, fromName: 'alice', item: 'potion_small', qty: 1 } });

interface Bus {
  name: string;
  publish(payload: string): void;
  onMessage(fn: (payload: string) => void): void;
  close(): Promise<void>;
}

async function redisBus(url: string): Promise<Bus> {
  const pub = new Redis(url);
  const sub = new Redis(url);
  const subject = `busbench:${process.pid}`;
  await sub.subscribe(subject);
  let fn: (p: string) => void = () => {};
  sub.on('message', (_c: string, m: string) => fn(m));
  return {
    name: 'Redis pub/sub',
    publish: (p) => void pub.publish(subject, p),
    onMessage: (g) => (fn = g),
    close: async () => {
      await sub.quit();
      await pub.quit();
    },
  };
}

async function natsBus(url: string): Promise<Bus> {
  const u = new URL(url);
  const subject = `busbench.${process.pid}`;
  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port || 4222), noDelay: true }, () => resolve(s));
      s.once('error', reject);
    });
  const pub = await open();
  const sub = await open();
  let fn: (p: string) => void = () => {};
  let buf = '';
  sub.setEncoding('utf8');
  sub.on('data', (d: string) => {
    buf += d;
    for (;;) {
      if (buf.startsWith('PING\r\n')) {
        sub.write('PONG\r\n');
        buf = buf.slice(6);
        continue;
      }
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.slice(0, eol);
      if (!head.startsWith('MSG ')) {
        buf = buf.slice(eol + 2); // INFO, +OK
        continue;
      }
      const size = Number(head.split(' ').pop());
      if (buf.length < eol + 2 + size + 2) return;
      const payload = buf.slice(eol + 2, eol + 2 + size);
      buf = buf.slice(eol + 2 + size + 2);
      fn(payload);
    }
  });
  pub.on('data', () => {}); // INFO / PING from the server; verbose off, so no +OK
  for (const s of [pub, sub]) s.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
  sub.write(`SUB ${subject} 1\r\nPING\r\n`);
  await new Promise((r) => setTimeout(r, 200));
  return {
    name: 'NATS core',
    publish: (p) => pub.write(`PUB ${subject} ${Buffer.byteLength(p)}\r\n${p}\r\n`),
    onMessage: (g) => (fn = g),
    close: async () => {
      pub.destroy();
      sub.destroy();
    },
  };
}

async function measure(bus: Bus, n: number): Promise<{ p50: number; p99: number; burstPerS: number }> {
  // One at a time: send, wait for it, send the next (the latency a push sees on an idle bus).
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      bus.onMessage(() => resolve());
      bus.publish(body);
    });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  // A burst: n messages published back to back, until the last arrives.
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    bus.onMessage(() => {
      if (++got === n) resolve();
    });
    for (let i = 0; i < n; i++) bus.publish(body);
  });
  const burstPerS = n / ((performance.now() - t0) / 1000);
  return { p50: lat[Math.floor(n * 0.5)], p99: lat[Math.floor(n * 0.99)], burstPerS };
}

for (const make of [() => redisBus(f.redisUrl), () => natsBus(f.natsUrl)]) {
  let bus: Bus;
  try {
    bus = await make();
  } catch (e) {
    process.stdout.write(`skipped: ${(e as Error).message}\n`);
    continue;
  }
  await measure(bus, Math.min(200, f.messages)); // warm-up
  const r = await measure(bus, f.messages);
  process.stdout.write(
    `${bus.name.padEnd(14)} one at a time: p50 ${(r.p50 * 1000).toFixed(0)} µs, p99 ${(r.p99 * 1000).toFixed(0)} µs; ` +
      `burst of ${f.messages}: ${Math.round(r.burstPerS)} msg/s\n`,
  );
  await bus.close();
}
process.stdout.write(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
process.exit(0);
