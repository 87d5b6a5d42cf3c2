/** A Node socket error (its `code`) → the port's Status, with the error's message as the reason. */
import { Status } from '../../completion-port.ts';

export function translate(err: NodeJS.ErrnoException | Error): { status: number; error: string } {
  const code = (err as NodeJS.ErrnoException).code;
  const error = err.message;
  if (code === 'ECONNRESET') return { status: Status.Reset, error };
  if (code === 'EPIPE' || code === 'ERR_STREAM_WRITE_AFTER_END') return { status: Status.BrokenPipe, error };
  if (code === 'ERR_STREAM_DESTROYED' || code === 'ECANCELED') return { status: Status.Cancelled, error };
  return { status: Status.Failed, error };
}
