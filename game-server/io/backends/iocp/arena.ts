/**
 * The receive arena of an iocp port in zero-byte-recv mode: native memory shared by every device.
 *
 * A device waits with a 0-byte WSARecv (no buffer pinned); when that completes, the loop reads what is
 * there with a non-blocking recv at the arena's fill mark and the Recv completion hands out a view of
 * the bytes it got. Views are valid only until their batch callback returns, so the mark goes back to 0
 * after every delivered batch. When the rest is smaller than one recv in the middle of a batch, a fresh
 * block is started and the old one is freed after that batch (the views into it are dead by then).
 * Like epoll's RecvArena, but native: ws2_32 writes into it.
 */
import { allocBlock, freeBlock, type NativeBlock } from './ffi.ts';

export class NativeRecvArena {
  private blk: NativeBlock;
  private off = 0;
  /** Full blocks still viewed by the batch being built; freed at reset. */
  private retired: NativeBlock[] = [];

  constructor(
    private readonly arenaBytes: number,
    /** Most bytes one recv asks for. */
    readonly recvBytes: number,
  ) {
    this.blk = allocBlock(arenaBytes);
  }

  /** Where the next recv writes (recvBytes of room). */
  space(): { addr: number; u8: Uint8Array } {
    if (this.blk.size - this.off < this.recvBytes) {
      this.retired.push(this.blk);
      this.blk = allocBlock(this.arenaBytes);
      this.off = 0;
    }
    return { addr: this.blk.addr + this.off, u8: this.blk.u8.subarray(this.off, this.off + this.recvBytes) };
  }

  /** `n` bytes of the last space() are handed out in a completion (kept 8-aligned). */
  taken(n: number): void {
    this.off += (n + 7) & ~7;
  }

  /** The batch returned: no view is alive any more. */
  reset(): void {
    this.off = 0;
    for (const b of this.retired) freeBlock(b);
    this.retired = [];
  }

  destroy(): void {
    this.reset();
    freeBlock(this.blk);
  }
}
