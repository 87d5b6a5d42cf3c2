import { describe, expect, it } from 'vitest';
import { Op } from '../../game-server/io/completion-port.ts';
import { createTransport, selectBackend } from '../../game-server/io/select-backend.ts';
import { probeUring } from '../../game-server/io/backends/uring/ffi.ts';

function uringWorks(): boolean {
  try {
    probeUring();
    return true;
  } catch {
    return false;
  }
}

describe('selectBackend (--io)', () => {
  it('--io libuv picks libuv and says so', async () => {
    const s = await selectBackend('libuv');
    expect(s.backend).toBe('libuv');
    expect(s.reason).toMatch(/libuv.*--io libuv/);
    const p = s.createPort();
    expect(p.backend).toBe('libuv');
    await p.shutdown();
  });

  it('auto picks the native backend of the platform when it can start', async () => {
    const s = await selectBackend('auto');
    if (process.platform === 'linux') {
      expect(s.backend).toBe(uringWorks() ? 'uring' : 'libuv');
      expect(s.reason).toMatch(uringWorks() ? /io_uring_setup succeeded/ : /fallback/);
    } else if (process.platform === 'win32') {
      expect(['iocp', 'libuv']).toContain(s.backend);
    } else {
      expect(s.backend).toBe('libuv');
    }
  });

  it('a native backend that cannot start falls back to libuv with the reason', async () => {
    const other = process.platform === 'win32' ? 'uring' : 'iocp';
    const s = await selectBackend(other);
    expect(s.backend).toBe('libuv');
    expect(s.reason).toMatch(/fallback: .*(Windows-only|Linux-only)/);
  });

  it('rejects an unknown --io value', async () => {
    await expect(selectBackend('kqueue' as never)).rejects.toThrow(/--io must be one of/);
  });

  it('the chosen postTo reaches a port of the chosen backend', async () => {
    const s = await selectBackend('auto');
    const port = s.createPort();
    const got: number[] = [];
    port.start((b) => {
      for (const c of b) if (c.op === Op.Post) got.push(c.bytes);
    });
    for (let i = 0; i < 5; i++) s.postTo(port.address(), 9, i);
    const end = Date.now() + 5000;
    while (got.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(got).toEqual([0, 1, 2, 3, 4]);
    await port.shutdown();
    const t = createTransport(s);
    expect(t.backend).toBe(s.backend);
  });
});
