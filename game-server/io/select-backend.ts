/**
 * The only file that loads the I/O backends, and the one list of them (BACKENDS, IO_CHOICES).
 * `--io auto|iocp|uring|epoll|libuv`:
 *  - auto: iocp on win32; uring on Linux when io_uring_setup succeeds; libuv otherwise;
 *  - epoll only when asked for (readiness turned into completions, as libuv does on Linux);
 *  - an explicit native backend that cannot start falls back to libuv, with the reason.
 * Backends are loaded lazily (dynamic import), so a platform never loads another's FFI.
 */
import { checkedPostTo, type BackendName, type CompletionPort, type PortOptions, type PostTo } from './completion-port.ts';
import { PortTransport, type PortTransportOptions } from './port-transport.ts';

export type IoChoice = 'auto' | BackendName;

export interface SelectedBackend {
  backend: BackendName;
  /** One log line: which backend runs and why. */
  reason: string;
  /** Create a port of the chosen backend (on the calling thread, which becomes its owner). */
  createPort(opts?: PortOptions): CompletionPort;
  /** PostQueuedCompletionStatus to a port of this backend owned by any thread. */
  postTo: PostTo;
}

interface BackendModule {
  create(opts?: PortOptions): CompletionPort;
  postTo: PostTo;
  /** Throws (with the reason) if the backend cannot run here. */
  probe(): void;
}

/** One loader per backend. A Record over BackendName: the compiler insists every backend is here. */
const LOADERS: Record<BackendName, () => Promise<BackendModule>> = {
  iocp: async () => {
    if (process.platform !== 'win32') throw new Error(`IOCP is Windows-only (platform ${process.platform})`);
    const m = await import('./backends/iocp/port.ts');
    return { create: (o) => new m.IocpPort(o), postTo: checkedPostTo('iocp', m.postTo), probe: m.probeIocp };
  },
  uring: async () => {
    if (process.platform !== 'linux') throw new Error(`io_uring is Linux-only (platform ${process.platform})`);
    const m = await import('./backends/uring/port.ts');
    return { create: (o) => new m.UringPort(o), postTo: checkedPostTo('uring', m.postTo), probe: m.probeUring };
  },
  epoll: async () => {
    if (process.platform !== 'linux') throw new Error(`epoll is Linux-only (platform ${process.platform})`);
    const m = await import('./backends/epoll/port.ts');
    return { create: (o) => new m.EpollPort(o), postTo: checkedPostTo('epoll', m.postTo), probe: m.probeEpoll };
  },
  libuv: async () => {
    const m = await import('./backends/libuv/port.ts');
    return { create: (o) => new m.LibuvPort(o), postTo: checkedPostTo('libuv', m.postTo), probe: () => {} };
  },
};

/** The backends, the one list (flags' choices, docs and tools take it from here). */
export const BACKENDS = Object.keys(LOADERS) as readonly BackendName[];
/** What `--io` accepts. */
export const IO_CHOICES: readonly IoChoice[] = ['auto', ...BACKENDS];

function load(name: BackendName): Promise<BackendModule> {
  return LOADERS[name]();
}

function select(mod: BackendModule, backend: BackendName, reason: string): SelectedBackend {
  return { backend, reason, createPort: mod.create, postTo: mod.postTo };
}

/** Pick and load a backend; never throws for a native backend that cannot start (falls back to libuv). */
export async function selectBackend(choice: IoChoice = 'auto'): Promise<SelectedBackend> {
  if (!IO_CHOICES.includes(choice)) throw new Error(`--io must be one of ${IO_CHOICES.join('|')}, got ${JSON.stringify(choice)}`);
  const byPlatform: BackendName | null = process.platform === 'win32' ? 'iocp' : process.platform === 'linux' ? 'uring' : null;
  const native: BackendName | null = choice === 'auto' ? byPlatform : choice === 'libuv' ? null : choice;
  if (native !== null) {
    try {
      const mod = await load(native);
      mod.probe();
      const probed = native === 'uring' ? 'io_uring_setup succeeded' : 'IOCP available';
      const why = choice === 'auto' ? `auto on ${process.platform}: ${probed}` : `--io ${choice}`;
      return select(mod, native, `io backend ${native} (${why})`);
    } catch (err) {
      const libuv = await load('libuv');
      return select(libuv, 'libuv', `io backend libuv (fallback: ${native} cannot start: ${(err as Error).message})`);
    }
  }
  const libuv = await load('libuv');
  const why = choice === 'libuv' ? '--io libuv' : `auto on ${process.platform}: no native completion backend for this platform`;
  return select(libuv, 'libuv', `io backend libuv (${why})`);
}

/** Convenience: a PortTransport over a fresh port of the selected backend. */
export function createTransport(sel: SelectedBackend, portOpts?: PortOptions, transportOpts?: PortTransportOptions): PortTransport {
  return new PortTransport(sel.createPort(portOpts), sel.postTo, transportOpts);
}
