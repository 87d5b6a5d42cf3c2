/**
 * `npm run shards -- --shards 3 [--web-port 8080]`: kept as an alias of the one launcher,
 * `npm run cluster -- --web 0 --shards 3 --store sqlite --db-path data/game.sqlite --redis redis://127.0.0.1:6379`
 * (loadgen/cluster/cli.ts; docs/shards.md). Its old flags are translated: `--web-port P` runs one web
 * instance (the lobby) behind HAProxy on P, `--base-port` is `--shard-port`, `--redis-url` is
 * `--redis`; every other flag goes through as it is.
 */
const rename: Record<string, string> = { '--base-port': '--shard-port', '--redis-url': '--redis' };
const out = ['--web', '0', '--store', 'sqlite', '--db-path', 'data/game.sqlite', '--redis', 'redis://127.0.0.1:6379', '--shards', '3'];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const [flag, inline] = argv[i].split(/=(.*)/s, 2);
  const value = () => inline ?? argv[++i];
  if (flag === '--web-port') {
    const port = Number(value());
    out.push(...(port >= 0 ? ['--web', '1', '--port', String(port)] : ['--web', '0']));
  } else if (rename[flag]) out.push(rename[flag], value());
  else out.push(argv[i]);
}
process.argv = [...process.argv.slice(0, 2), ...out];
await import('../../loadgen/cluster/cli.ts');
