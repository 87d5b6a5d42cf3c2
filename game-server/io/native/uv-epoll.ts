/**
 * The epoll descriptor of the calling thread's libuv loop, so a native port's blocking wait can also
 * wake when libuv has I/O ready (Redis, PostgreSQL, HTTP sockets are Node's, read in libuv's poll
 * phase, and would otherwise wait for the port's wait to time out).
 *
 * Node does not expose uv_backend_fd(), so it is found the way a debugger would: a probe socket is
 * opened on this thread's loop (each worker thread has a loop of its own), and once libuv has
 * registered it (epoll_ctl happens in the loop's next poll phase) the anon_inode:[eventpoll] entry of
 * /proc/self/fd whose /proc/self/fdinfo lists the probe's fd as a `tfd:` is this loop's epoll. The
 * probe is closed again. Anything unexpected (no /proc, not Linux, no fd on the handle, no or several
 * matches) gives null and the reason: the caller keeps its bounded wait.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export type UvEpoll = { fd: number } | { fd: null; why: string };

/** Linux only; resolves after a few loop turns, never rejects. */
export async function findUvEpoll(): Promise<UvEpoll> {
  if (process.platform !== 'linux') return { fd: null, why: `not Linux (${process.platform})` };
  const srv = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    const handle = (srv as unknown as { _handle?: { fd?: unknown } })._handle;
    const probe = handle?.fd;
    if (typeof probe !== 'number' || probe < 0) return { fd: null, why: 'no fd on the probe handle' };
    // uv__io_start only queues the watcher; the epoll_ctl(ADD) is done in the next poll phase.
    for (let turn = 0; turn < 5; turn++) {
      await new Promise((r) => setTimeout(r, 1));
      const found = epollsWatching(probe);
      if (found.length === 1) return { fd: found[0] };
      if (found.length > 1) return { fd: null, why: `${found.length} epoll sets watch the probe` };
    }
    return { fd: null, why: 'no epoll set in /proc/self/fdinfo watches the probe' };
  } catch (e) {
    return { fd: null, why: `probe failed: ${(e as Error).message}` };
  } finally {
    srv.close();
  }
}

/** Every epoll fd of this process whose interest list holds `target`. */
export function epollsWatching(target: number): number[] {
  const out: number[] = [];
  const tfd = new RegExp(`^tfd:\\s*${target}\\s`, 'm');
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // closed meanwhile (readdir's own fd, for one)
    }
    if (link !== 'anon_inode:[eventpoll]') continue;
    try {
      if (tfd.test(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'))) out.push(fd);
    } catch {
      continue;
    }
  }
  return out;
}
