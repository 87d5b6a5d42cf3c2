import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real sockets, real SQLite files and real worker threads: keep files isolated in processes,
    // and leave one of the two cores to the servers under test.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'] } },
      // The game server's whole suite once more on the io_uring backend (the default project runs it on libuv).
      { extends: true, test: { name: 'game-uring', include: ['test/game/**/*.test.ts'], env: { GAME_IO: 'uring' } } },
    ],
  },
});
