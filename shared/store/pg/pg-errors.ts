/**
 * What a PostgreSQL error means to the command path: retry (StoreConflict), a domain answer
 * (DomainError), or the store being out of reach (DomainError UNAVAILABLE, HTTP 503).
 */
import { DomainError } from '../../errors.ts';
import { StoreConflict } from '../async-store.ts';

/** SQLSTATEs after which the whole command is run again: our version check, deadlock, serialization. */
const RETRY = new Set(['TK001', '40P01', '40001']);

export function storeError(e: unknown): Error {
  const err = e as { code?: string; message?: string };
  const code = err?.code;
  const message = err?.message ?? String(e);
  if (code && RETRY.has(code)) return new StoreConflict(message);
  if (code === 'TK002') return new DomainError('CHANNEL_FULL', message);
  if (code === 'TK003') return new DomainError('CONFLICT', message);
  // A shard's write for a player claimed meanwhile by a newer login (migration 004).
  if (code === 'TK004') return new DomainError('SESSION_REPLACED', message);
  // A SQLSTATE is five characters; anything else (ECONNREFUSED, a timeout, a dropped connection) means
  // we could not talk to the database. Class 08 (connection exception) and 57P0x (shutdown) too.
  if (!code || code.length !== 5 || code.startsWith('E') || code.startsWith('08') || code.startsWith('57P')) {
    return new DomainError('UNAVAILABLE', `store unavailable: ${message}`);
  }
  return e instanceof Error ? e : new Error(message);
}
