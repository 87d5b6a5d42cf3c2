/**
 * The one place a failed syscall's -errno becomes the port's Status (completion-port.ts), with the text
 * the completion's `error` carries.
 */
import { Status } from '../../completion-port.ts';

const ECONNRESET = 104;
const EPIPE = 32;
const ECANCELED = 125;
const ECONNABORTED = 103;

export interface Translated {
  status: number;
  error: string;
}

/** `res` is a negative errno (a syscall's -1 with errno, folded into one number). */
export function translate(res: number): Translated {
  const errno = -res;
  const error = `errno ${errno}`;
  switch (errno) {
    case ECONNRESET:
    case ECONNABORTED:
      return { status: Status.Reset, error };
    case EPIPE:
      return { status: Status.BrokenPipe, error };
    case ECANCELED:
      return { status: Status.Cancelled, error };
    default:
      return { status: Status.Failed, error };
  }
}
