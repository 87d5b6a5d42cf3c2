/** A CQE's result (bytes, or -errno) → the port's Status, with the reason when it is not Ok. */
import { Status } from '../../completion-port.ts';
import { ECANCELED, ECONNRESET, EPIPE } from './ffi.ts';

export function translate(res: number): { status: number; error?: string } {
  if (res >= 0) return { status: Status.Ok };
  const error = `errno ${-res}`;
  if (res === -ECONNRESET) return { status: Status.Reset, error };
  if (res === -EPIPE) return { status: Status.BrokenPipe, error };
  if (res === -ECANCELED) return { status: Status.Cancelled, error };
  return { status: Status.Failed, error };
}
