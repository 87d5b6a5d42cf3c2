/**
 * Preloaded (`--import`) into every server child the compare starts: if the compare dies without
 * stopping it (SIGKILL, a test timeout), the child notices its parent is gone and exits, instead of
 * lingering with its port, store and memory.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();
