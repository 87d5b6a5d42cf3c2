import { configDefaults, defineConfig } from 'vitest/config';

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
      // Not test/game/core: those run GameCore in-process over the in-memory transport, which GAME_IO
      // does not reach, so a second run would repeat the first exactly.
      {
        extends: true,
        test: {
          name: 'game-uring',
          include: ['test/game/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/game/core/**'],
          env: { GAME_IO: 'uring' },
        },
      },
    ],
  },
});
