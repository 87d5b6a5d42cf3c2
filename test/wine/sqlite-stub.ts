/**
 * Stand-in for better-sqlite3 in the Wine bundles (its native addon has no win32 build here): it throws
 * like a missing prebuilt binary would, so the SQLite store runs on node:sqlite (shared/store/open-sqlite.ts).
 */
export default class Database {
  constructor() {
    throw new Error('better-sqlite3 has no win32 binary in the Wine bundle (node:sqlite serves the sqlite store)');
  }
}
