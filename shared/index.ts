/** shared/: the domain both servers adapt. This file is its public surface. */
export * from './errors.ts';
export * from './rng.ts';
export * as catalog from './catalog.ts';
export * from './model.ts';
export * from './events.ts';
export * from './commands/define.ts';
export * from './commands/table.ts';
export * from './runner.ts';
export * from './domain.ts';
export * from './config.ts';
export * from './auth/token.ts';
export * from './auth/password.ts';
export * from './ledger/audit.ts';
export type * from './store/store.ts';
export { MemoryStore } from './store/memory-store.ts';
export { SqliteStore } from './store/sqlite-store.ts';
export { openStore } from './store/open-store.ts';
export * from './protocol/frame.ts';
