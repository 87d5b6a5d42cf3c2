/**
 * Session tokens: `v1.<playerId>.<expiresAtMs>.<hmac>` signed with HMAC-SHA256. Any server holding the
 * secret can check one without a lookup, which is what lets web-server instances stay stateless.
 * The secret comes from config, or is generated on first start and kept in the store's meta table.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.ts';

export interface TokenClaims {
  playerId: number;
  expiresAt: number;
}

export class TokenSigner {
  private readonly key: Buffer;
  constructor(
    secret: string,
    readonly ttlMs: number,
  ) {
    if (secret.length < 16) throw new Error('token secret must be at least 16 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  issue(playerId: number, now: number): { token: string; expiresAt: number } {
    const expiresAt = now + this.ttlMs;
    const body = `v1.${playerId}.${expiresAt}`;
    return { token: `${body}.${this.sign(body)}`, expiresAt };
  }

  /** Returns the claims, or null when the token is malformed, forged or expired. */
  verify(token: string, now: number): TokenClaims | null {
    if (typeof token !== 'string' || token.length > 200) return null;
    const last = token.lastIndexOf('.');
    if (last < 0) return null;
    const body = token.slice(0, last);
    const parts = body.split('.');
    if (parts.length !== 3 || parts[0] !== 'v1') return null;
    // Compare the encoded strings, not decoded bytes: base64url's padding bits would otherwise let
    // several spellings of one signature pass.
    const sig = Buffer.from(token.slice(last + 1), 'utf8');
    const want = Buffer.from(this.sign(body), 'utf8');
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) return null;
    const playerId = Number(parts[1]);
    const expiresAt = Number(parts[2]);
    if (!Number.isSafeInteger(playerId) || !Number.isSafeInteger(expiresAt)) return null;
    if (expiresAt <= now) return null;
    return { playerId, expiresAt };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** The configured secret, else the one stored on first start (generated at random, never a constant). */
export function resolveTokenSecret(store: Store, configured?: string): string {
  if (configured) return configured;
  return store.transaction(() => {
    const existing = store.getMeta('token_secret');
    if (existing) return existing;
    const secret = randomBytes(32).toString('base64url');
    store.setMeta('token_secret', secret);
    return secret;
  });
}
