/**
 * Salted slow hash (scrypt) for passwords. The cost is a config knob: production keeps N = 2^14;
 * tests and load runs lower it so thousands of logins do not dominate the measurement.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface HashCost {
  /** log2 of scrypt's N. */
  log2n: number;
}

export const DEFAULT_HASH_COST: HashCost = { log2n: 14 };

function scryptAsync(password: string, salt: Buffer, n: number, len: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, len, { N: n, r: 8, p: 1, maxmem: 256 * n * 8 + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, cost: HashCost = DEFAULT_HASH_COST): Promise<string> {
  const salt = randomBytes(16);
  const n = 1 << cost.log2n;
  const key = await scryptAsync(password, salt, n, 32);
  return `scrypt$${cost.log2n}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, log2n, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !log2n || !salt || !key) return false;
  const n = 1 << Number(log2n);
  const expected = Buffer.from(key, 'base64url');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64url'), n, expected.length);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
