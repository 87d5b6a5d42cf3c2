/**
 * One conformance suite for every CompletionPort backend (iocp, uring, libuv).
 *
 * Plain vitest describe/it/expect only, so it also runs under Windows node (IOCP under Wine).
 * Everything uses real sockets on 127.0.0.1 port 0; every wait is bounded. Each backend also runs
 * two cases wrapped in a FaultyPort (./faulty-port.ts), which must fail: the suite catches a broken port.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Op, Status } from '../../game-server/io/completion-port.ts';
import { startWorker } from '../../game-server/io/ts-worker.ts';
import { FaultyPort, type Fault } from './faulty-port.ts';
import { Env, FAULT_WAIT_MS, sleep, type ContractOptions, type Factory } from './port-harness.ts';

export type { ContractOptions };

const METRICS_CASE = 'keeps metrics that add up, and a trace only when asked';
const FIFO_CASE = 'delivers posted packets FIFO, in batches no larger than maxBatch';

/** The cases, by title; each runs in a fresh Env. */
const CASES: Record<string, (env: Env) => Promise<void>> = {
  'accepts many connections, each once, with distinct devices': async (env) => {
    const { open, client, echoServer } = env;
    const h = await open();
    const srv = await echoServer(h, 'none', 8);
    const N = 50;
    const socks = await Promise.all(Array.from({ length: N }, () => client(srv.port)));
    expect(socks.length).toBe(N);
    const acc = await h.waitCount((c) => c.op === Op.Accept && c.status === Status.Ok, N, 'accept');
    expect(acc.length).toBe(N);
    expect(new Set(acc.map((c) => c.accepted)).size).toBe(N);
    for (const c of acc) {
      expect(c.key).toBe(1);
      expect(c.device).toBe(srv.listener);
      expect(c.accepted).not.toBe(srv.listener);
    }
    expect(h.port.metrics().devices).toBe(N + 1);
  },
  'echoes exact bytes written one byte at a time (split packets)': async (env) => {
    const { open, client, echoServer, readN } = env;
    const h = await open();
    const srv = await echoServer(h);
    const s = await client(srv.port);
    const payload = randomBytes(300);
    const got = readN(s, payload.length);
    for (let i = 0; i < payload.length; i++) {
      s.write(payload.subarray(i, i + 1));
      if (i % 16 === 0) await sleep(1); // let some bytes travel alone
    }
    expect(Buffer.compare(await got, payload)).toBe(0);
    const recvs = h.seen.filter((c) => c.op === Op.Recv && c.status === Status.Ok && c.bytes > 0);
    expect(recvs.length).toBeGreaterThan(1); // really split
    expect(Buffer.concat(recvs.map((c) => c.data!))).toEqual(payload);
    expect(recvs.every((c) => c.data!.length === c.bytes)).toBe(true);
  },
  'echoes exact bytes of many coalesced messages': async (env) => {
    const { open, client, echoServer, readN } = env;
    const h = await open();
    const srv = await echoServer(h);
    const s = await client(srv.port);
    const msgs = Array.from({ length: 500 }, (_, i) => Buffer.from(`msg-${i};`));
    const payload = Buffer.concat(msgs);
    const got = readN(s, payload.length);
    s.cork();
    for (const m of msgs) s.write(m);
    s.uncork();
    expect(Buffer.compare(await got, payload)).toBe(0);
    const recvs = h.seen.filter((c) => c.op === Op.Recv && c.bytes > 0);
    expect(recvs.length).toBeLessThan(msgs.length); // really coalesced
  },
  'sends 8 MiB in one operation intact, and copies the caller buffer': async (env) => {
    const { open, client, echoServer, readN } = env;
    const h = await open();
    const srv = await echoServer(h, 'none');
    const s = await client(srv.port);
    await h.waitFor((c) => c.op === Op.Accept && c.status === Status.Ok, 'accept');
    const dev = srv.accepted[0];
    const big = randomBytes(8 * 1024 * 1024);
    const expected = Buffer.from(big);
    const got = readN(s, big.length, 20_000);
    h.port.send(dev, big);
    big.fill(0); // the port must have copied or pinned its own bytes
    const done = await h.waitFor((c) => c.op === Op.Send && c.device === dev, 'send completion', 20_000);
    expect(done.status).toBe(Status.Ok);
    expect(done.bytes).toBe(expected.length);
    expect(done.key).toBe(1001);
    expect(Buffer.compare(await got, expected)).toBe(0);
    expect(h.seen.filter((c) => c.op === Op.Send).length).toBe(1);
    expect(h.port.metrics().bytesOut).toBe(expected.length);
  },
  'reports a peer reset on the pending recv and survives': async (env) => {
    const { open, client, echoServer, readN } = env;
    const h = await open();
    const srv = await echoServer(h);
    const s = await client(srv.port);
    await h.waitFor((c) => c.op === Op.Accept && c.status === Status.Ok, 'accept');
    const dev = srv.accepted[0];
    s.resetAndDestroy();
    const r = await h.waitFor((c) => c.op === Op.Recv && c.device === dev, 'recv after reset');
    expect(r.status === Status.Reset || (r.status === Status.Ok && r.bytes === 0)).toBe(true);
    h.port.close(dev);
    const closed = await h.waitFor((c) => c.op === Op.Close && c.device === dev, 'close');
    expect(closed.status).toBe(Status.Ok);
    // the port still works: a new client echoes
    const s2 = await client(srv.port);
    const got = readN(s2, 5);
    s2.write('alive');
    expect((await got).toString()).toBe('alive');
  },
  'close while operations are pending: each completes exactly once, then one Close': async (env) => {
    const { open, client, echoServer } = env;
    const h = await open();
    const srv = await echoServer(h, 'none', 3);
    const s = await client(srv.port);
    s.pause(); // the client reads nothing, so big sends stay pending
    await h.waitFor((c) => c.op === Op.Accept && c.status === Status.Ok, 'accept');
    const dev = srv.accepted[0];
    h.port.recv(dev);
    const SENDS = 4;
    for (let i = 0; i < SENDS; i++) h.port.send(dev, Buffer.alloc(8 * 1024 * 1024, i));
    await sleep(50);
    expect(h.port.metrics().inFlight).toBeGreaterThanOrEqual(1 + 1); // recv + at least one send still pending
    h.port.close(dev);
    const close = await h.waitFor((c) => c.op === Op.Close && c.device === dev, 'close');
    await sleep(100); // nothing may trail the Close
    const mine = h.seen.filter((c) => c.device === dev);
    expect(mine[mine.length - 1]).toBe(close);
    expect(mine.filter((c) => c.op === Op.Close).length).toBe(1);
    const recvs = mine.filter((c) => c.op === Op.Recv);
    expect(recvs.length).toBe(1);
    expect(recvs[0].status).toBe(Status.Cancelled);
    const sends = mine.filter((c) => c.op === Op.Send);
    expect(sends.length).toBe(SENDS);
    expect(sends.filter((c) => c.status === Status.Cancelled).length).toBeGreaterThanOrEqual(1);
    for (const c of sends) expect([Status.Ok, Status.Cancelled, Status.BrokenPipe, Status.Reset]).toContain(c.status);
    expect(mine.every((c) => c.key === 1001)).toBe(true);

    // the listener too: pending accepts are cancelled, then one Close
    h.port.close(srv.listener);
    const lc = await h.waitFor((c) => c.op === Op.Close && c.device === srv.listener, 'listener close');
    await sleep(50);
    // after close(listener) only cancelled accepts and the Close name the listener, Close last
    const lmine = h.seen.filter((c) => c.device === srv.listener && !(c.op === Op.Accept && c.status === Status.Ok));
    expect(lmine[lmine.length - 1]).toBe(lc);
    const cancelledAccepts = h.seen.filter((c) => c.op === Op.Accept && c.status === Status.Cancelled);
    expect(cancelledAccepts.length).toBe(3);
    expect(h.port.metrics().inFlight).toBe(0);
  },
  [FIFO_CASE]: async (env) => {
    const { open } = env;
    const h = await open({ maxBatch: 64 });
    const N = 1000;
    for (let i = 0; i < N; i++) h.port.post(7, i, { seq: i });
    const posts = await h.waitCount((c) => c.op === Op.Post, N, 'posts');
    expect(posts.map((c) => c.bytes)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(posts.map((c) => (c.payload as { seq: number }).seq)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(posts.every((c) => c.key === 7 && c.status === Status.Ok)).toBe(true);
    expect(Math.max(...h.batchSizes)).toBeLessThanOrEqual(64);
    expect(h.batchSizes.length).toBeGreaterThanOrEqual(Math.ceil(N / 64));
  },
  'an empty port delivers nothing and does not spin': async (env) => {
    const { open, echoServer } = env;
    const h = await open();
    await echoServer(h, 'none');
    await sleep(50);
    const before = h.seen.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(300);
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) * 1000;
    expect(h.seen.length).toBe(before);
    expect((cpu.user + cpu.system) / wall).toBeLessThan(0.25);
    const m = h.port.metrics();
    expect(m.completions).toBe(before);
  },
  'records the concurrency option and rejects what it cannot honour': async (env) => {
    const { open, factory, ports, maxConcurrency } = env;
    const ok = await open({ concurrency: maxConcurrency });
    expect(ok.port.backend).toBeTruthy();
    let failed: unknown = null;
    try {
      const p = await factory({ concurrency: maxConcurrency + 1 });
      ports.push(p);
    } catch (err) {
      failed = err;
    }
    expect(failed).toBeInstanceOf(Error);
    expect(String(failed)).toMatch(/concurrency/);
  },
  'accepts posts from another thread, in order, with their payloads': async (env) => {
    const { open, opts } = env;
    const h = await open();
    const N = 200;
    const w = startWorker(new URL('./post-worker.ts', import.meta.url), {
      workerData: { module: opts.postToModule, exportName: opts.postToExport ?? 'postTo', address: h.port.address(), count: N, key: 42 },
    });
    const exited = new Promise<number>((resolve, reject) => {
      w.once('error', reject);
      w.once('exit', resolve);
    });
    const posts = await h.waitCount((c) => c.op === Op.Post, N, 'cross-thread posts');
    expect(await exited).toBe(0);
    expect(posts.map((c) => c.bytes)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(posts[N - 1].payload).toEqual({ seq: N - 1, from: 'worker', text: `packet ${N - 1}` });
    expect(posts.every((c) => c.key === 42)).toBe(true);
  },
  [METRICS_CASE]: async (env) => {
    const { open, client, echoServer, readN } = env;
    const h = await open({ trace: true });
    const srv = await echoServer(h);
    const s = await client(srv.port);
    for (let i = 0; i < 20; i++) {
      const got = readN(s, 4);
      s.write(Buffer.from([i, i, i, i]));
      expect([...(await got)]).toEqual([i, i, i, i]);
    }
    for (let i = 0; i < 10; i++) h.port.post(3, i);
    await h.waitCount((c) => c.op === Op.Post, 10, 'posts');
    const m = h.port.metrics();
    const delivered = h.batchSizes.reduce((a, b) => a + b, 0);
    expect(m.completions).toBe(delivered);
    expect(m.completions).toBe(h.seen.length);
    expect(m.wakeups).toBe(h.batchSizes.filter((n) => n > 0).length);
    expect(m.batchHistogram.reduce((a, b) => a + b, 0)).toBe(m.waits);
    expect(m.maxBatch).toBe(Math.max(...h.batchSizes));
    expect(m.posts).toBe(10);
    expect(m.bytesIn).toBe(80);
    expect(m.bytesOut).toBe(80);
    expect(m.backend).toBe(h.port.backend);
    const trace = h.port.drainTrace();
    expect(trace.filter((e) => e.kind === 'completion').length).toBe(delivered);
    const wakes = trace.filter((e) => e.kind === 'wake');
    expect(wakes.reduce((a, e) => a + (e.batch ?? 0), 0)).toBe(delivered);
    expect(trace.filter((e) => e.kind === 'post').length).toBe(10);
    expect(trace.every((e) => typeof e.t === 'number' && typeof e.thread === 'number')).toBe(true);
    expect(h.port.drainTrace()).toEqual([]);

    const quiet = await open();
    quiet.port.post(1, 1);
    await quiet.waitFor((c) => c.op === Op.Post, 'post');
    expect(quiet.port.drainTrace()).toEqual([]);
  },
};

async function runCase(title: string, factory: Factory, opts: ContractOptions, waitMs?: number): Promise<void> {
  const env = new Env(factory, opts, waitMs);
  try {
    await CASES[title](env);
  } finally {
    await env.close();
  }
}

/** The error a case ends with (null: it passed). */
async function failureOf(run: () => Promise<void>): Promise<Error | null> {
  try {
    await run();
    return null;
  } catch (err) {
    return err as Error;
  }
}

export function describeCompletionPort(name: string, factory: Factory, opts: ContractOptions): void {
  describe(`CompletionPort contract: ${name}`, () => {
    for (const title of Object.keys(CASES)) it(title, () => runCase(title, factory, opts));
  });

  // The same cases against this backend wrapped in a FaultyPort must fail, and for the fault's reason.
  describe(`CompletionPort contract: ${name} broken on purpose (FaultyPort)`, () => {
    const faulty = (fault: Fault, made: FaultyPort[]): Factory => async (po) => {
      const p = new FaultyPort(await factory(po), fault);
      made.push(p);
      return p;
    };

    it('a lost recv completion (drop-recv) fails the metrics case: the 10th round trip never returns', async () => {
      const made: FaultyPort[] = [];
      const err = await failureOf(() => runCase(METRICS_CASE, faulty('drop-recv', made), opts, FAULT_WAIT_MS));
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/client got 0 of 4 bytes/);
      expect(made[0].dropped).toBe(1);
    });

    it('batches delivered out of order (reverse-fifo) fail the FIFO case', async () => {
      // The posts all arrive (the usual bound); their order is what fails.
      const err = await failureOf(() => runCase(FIFO_CASE, faulty('reverse-fifo', []), opts));
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/expected \[/);
    });
  });
}
