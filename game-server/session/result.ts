/** A request's outcome as the wire sees it, and how any thrown error becomes one. */
import { DomainError, ErrorCodes, type ErrorCode } from '../../shared/errors.ts';

export type Result = { ok: true; body: unknown } | { ok: false; code: ErrorCode; message: string; details?: unknown };

/** Domain errors keep their code; anything else is INTERNAL with a message that leaks nothing. */
export function errorOf(e: unknown): { code: ErrorCode; message: string } {
  if (e instanceof DomainError) return { code: e.code, message: e.message };
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code in ErrorCodes) return { code: code as ErrorCode, message: (e as Error).message };
  return { code: 'INTERNAL', message: 'internal error' };
}
