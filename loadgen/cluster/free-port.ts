/** A TCP port free right now on a loopback host, for processes that cannot listen on port 0 and tell us (HAProxy, redis-server). */
import net from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const a = s.address();
      const port = a && typeof a === 'object' ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once host:port accepts a TCP connection, or rejects after ms. */
export async function waitListening(host: string, port: number, ms: number, alive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const c = net.connect({ host, port });
      c.once('connect', () => {
        c.destroy();
        res(true);
      });
      c.once('error', () => res(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`${host}:${port}: the process exited before listening`);
    if (Date.now() > until) throw new Error(`${host}:${port}: nothing listening after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
