/**
 * The bus, measured (docs/shards.md "The bus"): a push-sized message (~130 bytes of JSON, what a
 * cross-shard `item.received` carries) through
 *  - Redis pub/sub       at most once; PUBLISH answers how many subscribers got it (the one in use);
 *  - NATS core           at most once; no answer to a publish;
 *  - NATS JetStream      at least once, as the contrast: the publish is answered once the stream has
 *                        stored the message, the consumer acknowledges each delivery.
 * Both services run on this machine; publisher and subscriber are two connections of this process.
 * Two phases per bus, interleaved over rounds (median; throughput also min–max):
 *  - one at a time: publish, wait until the subscriber has it and the publish's answer (if any) is
 *    back, then the next — the latency a push sees on an idle bus;
 *  - pipelined: --messages published back to back, until the last is delivered (and answered).
 * NATS is spoken over a raw socket (its text protocol: CONNECT, SUB, PUB, MSG, and the JetStream API
 * as requests on $JS.API.*), since its client library is not a dependency.
 *
 *   npx tsx loadgen/shards/bus-bench.ts [--messages 2000] [--rounds 3] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';
import { cliFlags } from '../../shared/config.ts';

const f = cliFlags('usage: tsx loadgen/shards/bus-bench.ts [options]', {
  messages: { type: 'number', default: 2000, help: 'messages per phase and round (one at a time, and pipelined)' },
  rounds: { type: 'number', default: 3, help: 'rounds, the buses interleaved in each; the table shows the median' },
  redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis' },
  natsUrl: { type: 'string', default: 'nats://127.0.0.1:4222', env: 'NATS_URL', help: 'NATS (JetStream enabled for the third row)' },
  jsStorage: { type: 'string', default: 'file', choices: ['file', 'memory'], help: 'JetStream stream storage' },
  json: { type: 'string', default: '', help: 'also write the results as JSON to this file' },
});
if (!(f.messages >= 10 && f.messages <= 100_000) || !(f.rounds >= 1 && f.rounds <= 20)) {
  process.stderr.write('bus-bench: --messages 10..100000, --rounds 1..20\n');
  process.exit(2);
}

const body = JSON.stringify({ t: 'ev', player: 12345, name: 'item.received', body: { from: 1, fromName: 'alice', item: 'potion_small', qty: 1 } });
const tag = `${process.pid}${Math.floor(Math.random() * 1e6)}`;

interface Bus {
  name: string;
  delivery: string;
  /** Publish; `answered` is called when the publish's own answer arrives (buses whose publish has one). */
  publish(payload: string, answered: () => void): void;
  /** Whether a publish gets an answer (Redis: receiver count; JetStream: stored ack). */
  answers: boolean;
  onMessage(fn: (payload: string) => void): void;
  close(): Promise<void>;
}

async function redisBus(url: string): Promise<Bus> {
  const pub = new Redis(url);
  const sub = new Redis(url);
  const subject = `busbench:${tag}`;
  await sub.subscribe(subject);
  let fn: (p: string) => void = () => {};
  sub.on('message', (_c: string, m: string) => fn(m));
  return {
    name: 'Redis pub/sub',
    delivery: 'at most once; PUBLISH answers the receiver count',
    answers: true,
    publish: (p, answered) => void pub.publish(subject, p).then(answered),
    onMessage: (g) => (fn = g),
    close: async () => {
      await sub.quit();
      await pub.quit();
    },
  };
}

type MsgHandler = (subject: string, reply: string, payload: string) => void;

/** One NATS connection over its text protocol: enough for PUB/SUB and JetStream API requests. */
class NatsConn {
  private buf = '';
  private readonly subs = new Map<number, MsgHandler>();
  private nextSid = 1;
  private inbox = 0;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('latin1'); // one char per byte: the protocol's sizes are bytes
    sock.on('data', (d: string) => this.parse(d));
  }

  static async open(url: string): Promise<NatsConn> {
    const u = new URL(url);
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port || 4222), noDelay: true }, () => resolve(s));
      s.once('error', reject);
    });
    sock.on('error', () => {});
    const c = new NatsConn(sock);
    c.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n');
    await c.flush();
    return c;
  }

  write(s: string): void {
    this.sock.write(s, 'latin1');
  }

  sub(subject: string, fn: MsgHandler): number {
    const sid = this.nextSid++;
    this.subs.set(sid, fn);
    this.write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  pub(subject: string, payload: string, reply = ''): void {
    this.write(`PUB ${subject}${reply ? ` ${reply}` : ''} ${Buffer.byteLength(payload, 'latin1')}\r\n${payload}\r\n`);
  }

  /** A round trip (PING/PONG): everything written before has been processed by the server. */
  private pongs: (() => void)[] = [];
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.write('PING\r\n');
    });
  }

  /** A request on a fresh inbox; resolves with the JSON answer. */
  request(subject: string, payload: object, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const inbox = `_INBOX.busbench.${tag}.${this.inbox++}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${subject}: no answer in ${timeoutMs} ms`)), timeoutMs);
      const sid = this.sub(inbox, (_s, _r, p) => {
        clearTimeout(t);
        this.write(`UNSUB ${sid}\r\n`);
        this.subs.delete(sid);
        try {
          const v = JSON.parse(p) as Record<string, unknown>;
          if (v.error) reject(new Error(`${subject}: ${JSON.stringify(v.error)}`));
          else resolve(v);
        } catch {
          reject(new Error(`${subject}: answer is not JSON (${p.slice(0, 80) || 'no responders'})`));
        }
      });
      this.pub(subject, JSON.stringify(payload), inbox);
    });
  }

  private parse(d: string): void {
    this.buf += d;
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = this.buf.slice(0, eol);
      const words = head.split(' ');
      const op = words[0].toUpperCase();
      if (op === 'MSG' || op === 'HMSG') {
        // MSG <subject> <sid> [reply] <size>; HMSG <subject> <sid> [reply] <hdr size> <total size>
        const total = Number(words[words.length - 1]);
        const hdr = op === 'HMSG' ? Number(words[words.length - 2]) : 0;
        const reply = words.length === (op === 'HMSG' ? 6 : 5) ? words[3] : '';
        if (this.buf.length < eol + 2 + total + 2) return;
        const payload = this.buf.slice(eol + 2 + hdr, eol + 2 + total);
        this.buf = this.buf.slice(eol + 2 + total + 2);
        this.subs.get(Number(words[2]))?.(words[1], reply, payload);
        continue;
      }
      this.buf = this.buf.slice(eol + 2);
      if (op === 'PING') this.write('PONG\r\n');
      else if (op === 'PONG') this.pongs.shift()?.();
      else if (op === '-ERR') process.stderr.write(`nats: ${head}\n`);
      // INFO, +OK: nothing to do
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

async function natsCoreBus(url: string): Promise<Bus> {
  const pub = await NatsConn.open(url);
  const sub = await NatsConn.open(url);
  const subject = `busbench.${tag}`;
  let fn: (p: string) => void = () => {};
  sub.sub(subject, (_s, _r, p) => fn(p));
  await sub.flush();
  return {
    name: 'NATS core',
    delivery: 'at most once; a publish has no answer',
    answers: false,
    publish: (p) => pub.pub(subject, p),
    onMessage: (g) => (fn = g),
    close: async () => {
      pub.close();
      sub.close();
    },
  };
}

async function jetStreamBus(url: string, storage: string): Promise<Bus> {
  const pub = await NatsConn.open(url);
  const sub = await NatsConn.open(url);
  const stream = `BUSBENCH_${tag}`;
  const subject = `busbench.js.${tag}`;
  const deliver = `busbench.deliver.${tag}`;
  await pub.request(`$JS.API.STREAM.CREATE.${stream}`, { name: stream, subjects: [subject], storage, retention: 'limits', max_msgs: 100_000 });
  let fn: (p: string) => void = () => {};
  sub.sub(deliver, (_s, reply, p) => {
    if (reply) sub.pub(reply, ''); // the consumer's ack: at least once means the server redelivers without it
    fn(p);
  });
  await sub.flush();
  await sub.request(`$JS.API.CONSUMER.CREATE.${stream}`, {
    stream_name: stream,
    config: { deliver_subject: deliver, ack_policy: 'explicit', deliver_policy: 'new', max_ack_pending: 20_000, ack_wait: 30e9 },
  });
  // Publish answers (PubAck: the stream has the message) arrive on one inbox, in publish order.
  const acks: (() => void)[] = [];
  const ackInbox = `_INBOX.busbench.${tag}.acks`;
  pub.sub(ackInbox, () => acks.shift()?.());
  await pub.flush();
  return {
    name: 'NATS JetStream',
    delivery: `at least once (${storage} stream; stored ack to the publisher, explicit ack by the consumer)`,
    answers: true,
    publish: (p, answered) => {
      acks.push(answered);
      pub.pub(subject, p, ackInbox);
    },
    onMessage: (g) => (fn = g),
    close: async () => {
      await pub.request(`$JS.API.STREAM.DELETE.${stream}`, {}).catch(() => {});
      pub.close();
      sub.close();
    },
  };
}

interface Phase {
  p50: number;
  p99: number;
  perS: number;
}

async function measure(bus: Bus, n: number): Promise<Phase> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      let left = bus.answers ? 2 : 1;
      const one = () => {
        if (--left === 0) resolve();
      };
      bus.onMessage(one);
      bus.publish(body, one);
    });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  let left = bus.answers ? 2 * n : n;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const one = () => {
      if (--left === 0) resolve();
    };
    bus.onMessage(one);
    for (let i = 0; i < n; i++) bus.publish(body, one);
  });
  const perS = n / ((performance.now() - t0) / 1000);
  return { p50: lat[Math.floor(n * 0.5)], p99: lat[Math.min(n - 1, Math.floor(n * 0.99))], perS };
}

const makers: [string, () => Promise<Bus>][] = [
  ['Redis pub/sub', () => redisBus(f.redisUrl)],
  ['NATS core', () => natsCoreBus(f.natsUrl)],
  ['NATS JetStream', () => jetStreamBus(f.natsUrl, f.jsStorage)],
];
const buses: Bus[] = [];
const skipped: string[] = [];
for (const [name, make] of makers) {
  try {
    const bus = await make();
    await measure(bus, Math.min(200, f.messages)); // warm-up: connections, JIT, the stream's first file
    buses.push(bus);
  } catch (e) {
    skipped.push(`${name}: ${(e as Error).message}`);
  }
}
const loadBefore = os.loadavg();
const started = new Date();
const results = new Map<string, Phase[]>(buses.map((b) => [b.name, []]));
for (let r = 0; r < f.rounds; r++) {
  for (const bus of buses) results.get(bus.name)!.push(await measure(bus, f.messages));
}
const loadAfter = os.loadavg();
for (const bus of buses) await bus.close();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const us = (ms: number) => `${Math.round(ms * 1000)}`;
const k = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(0)}k` : `${(x / 1000).toFixed(1)}k`);
const rows = buses.map((b) => {
  const ph = results.get(b.name)!;
  const per = ph.map((p) => p.perS);
  return {
    bus: b.name,
    delivery: b.delivery,
    p50us: Math.round(median(ph.map((p) => p.p50)) * 1000),
    p99us: Math.round(median(ph.map((p) => p.p99)) * 1000),
    msgPerS: Math.round(median(per)),
    msgPerSMin: Math.round(Math.min(...per)),
    msgPerSMax: Math.round(Math.max(...per)),
    line: `| ${b.name} | ${us(median(ph.map((p) => p.p50)))} | ${us(median(ph.map((p) => p.p99)))} | ${k(median(per))} (${k(Math.min(...per))}–${k(Math.max(...per))}) | ${b.delivery} |`,
  };
});
const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const out = [
  `bus-bench ${started.toISOString()}: ${Buffer.byteLength(body)}-byte messages, ${f.messages} per phase, ${f.rounds} round(s) interleaved, median (min–max)`,
  `${os.cpus().length} cores, load average ${la(loadBefore)} before → ${la(loadAfter)} after (1/5/15 min)`,
  '',
  '| bus | one at a time p50 µs | one at a time p99 µs | pipelined msg/s | delivery |',
  '|---|---|---|---|---|',
  ...rows.map((r) => r.line),
  ...skipped.map((s) => `skipped ${s}`),
];
process.stdout.write(`${out.join('\n')}\n`);
if (f.json) {
  const data = {
    at: started.toISOString(), bytes: Buffer.byteLength(body), messages: f.messages, rounds: f.rounds, loadBefore, loadAfter, rows, skipped,
  };
  writeFileSync(f.json, `${JSON.stringify(data, null, 2)}\n`);
}
process.exit(0);
