/** Open what every server needs from config: the store, the token signer, the rules. */
import { resolveTokenSecret, TokenSigner } from './auth/token.ts';
import type { HashCost } from './auth/password.ts';
import type { Rules } from './commands/define.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';

export interface DomainConfig {
  store: string;
  dbPath: string;
  dbSync: string;
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
