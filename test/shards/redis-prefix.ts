/** A Redis key prefix of its own per test file, purged afterwards (the Redis on 127.0.0.1:6379 is shared). */
import { randomBytes } from 'node:crypto';
import { Directory } from '../../shared/cluster/directory.ts';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

export function uniquePrefix(name: string): string {
  return `test17:${name}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** Delete every key under `prefix` (in the shared Redis unless told another). */
export async function purge(prefix: string, url = REDIS_URL): Promise<void> {
  const d = new Directory(url, prefix, 1000);
  try {
    await d.connect();
    await d.purge();
  } finally {
    await d.close();
  }
}
