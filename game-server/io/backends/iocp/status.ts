/**
 * NTSTATUS → the port's Status. A completed operation's NTSTATUS is in OVERLAPPED.Internal; a call
 * that failed at once gives a WSA error instead, which `ntStatusOfWsa` turns into the NTSTATUS its
 * packet would have carried, so both paths go through the one `translate`.
 */
import { Op, Status, type OpCode } from '../../completion-port.ts';
import {
  STATUS_CANCELLED, STATUS_CONNECTION_ABORTED, STATUS_CONNECTION_DISCONNECTED, STATUS_CONNECTION_RESET, STATUS_LOCAL_DISCONNECT,
  STATUS_PIPE_BROKEN, STATUS_REMOTE_DISCONNECT, WSAECONNABORTED, WSAECONNRESET, WSAENOTCONN, WSAESHUTDOWN,
} from './ffi.ts';

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** The NTSTATUS a packet would carry for a WSA error returned at once. */
export function ntStatusOfWsa(err: number): number {
  switch (err) {
    case WSAECONNRESET:
      return STATUS_CONNECTION_RESET;
    case WSAECONNABORTED:
      return STATUS_CONNECTION_ABORTED;
    case WSAESHUTDOWN:
    case WSAENOTCONN:
      return STATUS_PIPE_BROKEN;
    default:
      return (0xe0000000 | (err & 0xffff)) >>> 0; // customer bit: "WSA error err"
  }
}

/** Status (and the reason, when not Ok) of operation `op` that completed with NTSTATUS `nt`; `closing`: its device was closed locally. */
export function translate(nt: number, op: OpCode, closing: boolean): { status: number; error?: string } {
  if (nt === 0) return { status: Status.Ok };
  if (closing || nt === STATUS_CANCELLED) return { status: Status.Cancelled, error: `cancelled (NTSTATUS ${hex(nt)})` };
  switch (nt) {
    case STATUS_CONNECTION_RESET:
    case STATUS_CONNECTION_ABORTED:
    case STATUS_REMOTE_DISCONNECT:
    case STATUS_CONNECTION_DISCONNECTED:
      return { status: Status.Reset, error: `connection reset (NTSTATUS ${hex(nt)})` };
    case STATUS_PIPE_BROKEN:
    case STATUS_LOCAL_DISCONNECT:
      return op === Op.Send
        ? { status: Status.BrokenPipe, error: `broken pipe (NTSTATUS ${hex(nt)})` }
        : { status: Status.Reset, error: `connection closed (NTSTATUS ${hex(nt)})` };
  }
  if ((nt & 0xffff0000) >>> 0 === 0xe0000000) return { status: Status.Failed, error: `WSA error ${nt & 0xffff}` };
  return { status: Status.Failed, error: `NTSTATUS ${hex(nt)}` };
}
