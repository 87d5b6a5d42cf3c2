/**
 * What telling the shards about a web-side write costs the web tier, per write, for the two designs
 * of docs/shards.md "Cache coherence" (the store is left out: only the cluster part differs):
 *  - notes:  the runner's onWritten → WriteNotes.note (one PUBLISH per event-loop turn, awaited);
 *  - lookup: a directory lookup per written player, then a message to the owner shard when it has one.
 * Writes come in bursts of --burst concurrent requests per turn (a loaded web tier commits many per
 * turn), each naming one player, nobody online (the common case: most players written over HTTP are
 * not on a shard) and, with --online, every one online on a shard (a claim in the directory).
 * Reports process CPU µs and wall µs per write, median of --rounds alternating rounds.
 *
 *   npx tsx loadgen/bench/write-notes.ts [--writes 20000] [--burst 32] [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Bus } from '../../shared/cluster/bus.ts';
import { Directory } from '../../shared/cluster/directory.ts';
import { WriteNotes } from '../../shared/cluster/write-notes.ts';
import { cliFlags } from '../../shared/config.ts';

const f = cliFlags('usage: tsx loadgen/bench/write-notes.ts [options]', {
  writes: { type: 'number', default: 20000, help: 'writes per round and design' },
  burst: { type: 'number', default: 32, help: 'concurrent writes per event-loop turn' },
  rounds: { type: 'number', default: 5, help: 'alternating rounds (median reported)' },
  online: { type: 'boolean', default: false, help: 'the written players are online on shard 0 (else nobody is)' },
  redisUrl: { type: 'string', default: 'redis://127.0.0.1:6379', env: 'REDIS_URL', help: 'Redis' },
});

const prefix = `notesbench:${process.pid}:${randomBytes(3).toString('hex')}`;
const dir = new Directory(f.redisUrl, prefix, 60_000);
await dir.connect();
const bus = new Bus(dir.redis, prefix);
const notes = new WriteNotes(bus, 'bench');
// No shard listens in this process: its receive cost would be counted as the web tier's. (A shard
// parses one note per turn of each web instance, and drops the ids it does not hold.)
const players = 1000;
if (f.online) {
  await dir.heartbeat({ shard: 0, incarnation: 'bench', addr: '127.0.0.1:1', capacity: 100, channels: {}, players, at: Date.now() });
  for (let p = 1; p <= players; p++) await dir.claim(p, 0, 'bench', 1);
}

const designs: Record<string, (p: number) => Promise<unknown>> = {
  notes: (p) => notes.note([p]),
  lookup: (p) =>
    dir.lookup(p).then((o) => (o ? bus.send(o.shard, { t: 'ev', player: p, name: 'inv', body: null, sentAt: 0 }) : 0)),
};

async function round(fn: (p: number) => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < f.writes; done += f.burst) {
    const wave: Promise<unknown>[] = [];
    for (let i = 0; i < f.burst; i++) wave.push(fn(((done + i) % players) + 1));
    await Promise.all(wave);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / f.writes, wall: wall / f.writes };
}

const results: Record<string, { cpu: number[]; wall: number[] }> = { notes: { cpu: [], wall: [] }, lookup: { cpu: [], wall: [] } };
await round(designs.notes); // warm-up
await round(designs.lookup);
for (let r = 0; r < f.rounds; r++) {
  for (const name of Object.keys(designs)) {
    const m = await round(designs[name]);
    results[name].cpu.push(m.cpu);
    results[name].wall.push(m.wall);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`write notes vs directory lookups: ${f.writes} writes × ${f.rounds} rounds, bursts of ${f.burst}, players ${f.online ? 'online on a shard' : 'offline'}`);
console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
for (const [name, m] of Object.entries(results)) {
  console.log(`  ${name.padEnd(7)} CPU ${median(m.cpu).toFixed(2)} µs/write   wall ${median(m.wall).toFixed(2)} µs/write`);
}
console.log(`  notes published: ${notes.counters.published} for ${notes.counters.players} player names`);
await dir.purge();
await dir.close();
