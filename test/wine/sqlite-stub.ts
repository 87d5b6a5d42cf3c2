/**
 * Stand-in for better-sqlite3 in the Wine bundle of the game server (its native addon has no win32
 * build here). The Wine game smoke runs with --store memory, which never constructs it.
 */
export default class Database {
  constructor() {
    throw new Error('better-sqlite3 is not bundled for Wine: run the game server with --store memory');
  }
}
