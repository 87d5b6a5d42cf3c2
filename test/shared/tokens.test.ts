import { describe, expect, it } from 'vitest';
import { resolveTokenSecret, TokenSigner } from '../../shared/auth/token.ts';
import { hashPassword, verifyPassword } from '../../shared/auth/password.ts';
import { MemoryStore } from '../../shared/store/memory-store.ts';

describe('tokens and passwords', () => {
  it('tokens verify, expire, and reject forgeries', () => {
    const s = new TokenSigner('0123456789abcdef-secret', 1000);
    const { token } = s.issue(7, 10_000);
    expect(s.verify(token, 10_500)).toEqual({ playerId: 7, expiresAt: 11_000 });
    expect(s.verify(token, 11_000)).toBeNull();
    expect(s.verify(token.replace('v1.7.', 'v1.8.'), 10_500)).toBeNull();
    expect(new TokenSigner('another-secret-0123456', 1000).verify(token, 10_500)).toBeNull();
    for (const bad of ['', 'v1', 'v1.7.99999', 'x'.repeat(500), 'v1.a.b.c']) expect(s.verify(bad, 0)).toBeNull();
  });

  it('the secret is generated once per store and kept', () => {
    const store = new MemoryStore();
    const a = resolveTokenSecret(store);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(resolveTokenSecret(store)).toBe(a);
    expect(resolveTokenSecret(new MemoryStore())).not.toBe(a);
    expect(resolveTokenSecret(store, 'configured-secret-xyz')).toBe('configured-secret-xyz');
  });

  it('passwords are salted scrypt hashes', async () => {
    const h1 = await hashPassword('pw', { log2n: 4 });
    const h2 = await hashPassword('pw', { log2n: 4 });
    expect(h1).not.toBe(h2);
    expect(h1).toMatch(/^scrypt\$4\$/);
    expect(await verifyPassword('pw', h1)).toBe(true);
    expect(await verifyPassword('pw2', h1)).toBe(false);
    expect(await verifyPassword('pw', 'garbage')).toBe(false);
  });
});
