/** Open what every server needs from config: the store, the token signer, the rules. */
import { resolveTokenSecret, TokenSigner } from './auth/token.ts';
import type { HashCost } from './auth/password.ts';
import type { Rules } from './commands/define.ts';
import { randomBytes } from 'node:crypto';
import type { AsyncStore } from './store/async-store.ts';
import { openAsyncStore, openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';

export interface DomainConfig {
  store: string;
  dbPath: string;
  dbSync: string;
  dbUrl?: string;
  dbPool?: number;
  tokenSecret: string;
  tokenTtl: number;
  hashCost: number;
  worldSeed: number;
  channelCapacity: number;
  channelsPerPlace: number;
}

export interface Domain {
  store: Store;
  tokens: TokenSigner;
  rules: Rules;
  hashCost: HashCost;
}

export function openDomain(cfg: DomainConfig, store?: Store): Domain {
  const s = store ?? openStore({ kind: cfg.store as 'memory' | 'sqlite', path: cfg.dbPath, sync: cfg.dbSync as 'normal' | 'full' | 'off' });
  return {
    store: s,
    tokens: new TokenSigner(resolveTokenSecret(s, cfg.tokenSecret || undefined), cfg.tokenTtl * 1000),
    rules: { worldSeed: cfg.worldSeed, channelCapacity: cfg.channelCapacity, channelsPerPlace: cfg.channelsPerPlace },
    hashCost: { log2n: cfg.hashCost },
  };
}

/** The same, over the asynchronous store (PostgreSQL). */
export interface AsyncDomain {
  store: AsyncStore;
  tokens: TokenSigner;
  rules: Rules;
  hashCost: HashCost;
}

export async function openAsyncDomain(cfg: DomainConfig, store?: AsyncStore): Promise<AsyncDomain> {
  const s = store ?? (await openAsyncStore({ url: cfg.dbUrl ?? '', poolSize: cfg.dbPool }));
  // Generated once and kept in the store, so every instance on the same database signs alike.
  const secret = cfg.tokenSecret || (await s.setMetaOnce('token_secret', randomBytes(32).toString('base64url')));
  return {
    store: s,
    tokens: new TokenSigner(secret, cfg.tokenTtl * 1000),
    rules: { worldSeed: cfg.worldSeed, channelCapacity: cfg.channelCapacity, channelsPerPlace: cfg.channelsPerPlace },
    hashCost: { log2n: cfg.hashCost },
  };
}
