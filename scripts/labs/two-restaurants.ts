/**
 * Lab 1 (docs/labs/01-two-restaurants.md): the takeout counter and the dine-in restaurant.
 *
 *   npx tsx scripts/labs/two-restaurants.ts
 *
 * Starts two web servers on ONE SQLite store and a game server (free ports, a temp folder), then
 * prints each step of the lab exactly as the page shows it (with <WEB_A>, <TOKEN>… where a value
 * goes) and runs it with the real values: HTTP against both web servers with one token
 * (statelessness); two game clients at one table, carol first, so bob's join and move reach her as
 * pushes; bob's client process killed (its connection dies, the server parks the session); a new
 * connection resuming it. Every child is stopped by its pid at the end, whatever happened; every
 * wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, spawnServer, type ChildServer } from '../../loadgen/procs/child.ts';
import { exchange, transcript } from './http.ts';

const tmp = mkdtempSync(join(os.tmpdir(), 'lab-two-'));
const servers: ChildServer[] = [];
const clients: ChildProcess[] = [];
let fails = 0;
const say = (s = '') => void process.stdout.write(s + '\n');
const check = (name: string, ok: boolean) => {
  say(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (!ok) fails++;
};

/** A game client (game-server/client/cli.ts) whose stdin we type into and whose output we collect. */
class Client {
  readonly proc: ChildProcess;
  out = '';
  constructor(port: number, args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'game-server/client/cli.ts'), '--port', String(port),
      '--linger', '200', ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    clients.push(this.proc);
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
  }
  type(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }
  /** Wait (bounded) until a line of the output matches re; that line. */
  async line(re: RegExp, timeoutMs = 60_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const l = this.out.split('\n').find((x) => re.test(x));
      if (l) return l;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re} in:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** Close stdin and wait (bounded) for the process to end on its own. */
  async end(timeoutMs = 30_000): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin!.end();
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
  }
}

/** Print the step as the page shows it, then the values it ran with. */
function step(pageLine: string): void {
  say(`$ ${pageLine}`);
}

async function http(pageLine: string, method: string, url: string, opts: { token?: string; json?: Record<string, unknown> }) {
  step(pageLine);
  const x = await exchange(method, url, opts);
  say(transcript(x));
  say();
  return x;
}

async function main(): Promise<void> {
  say('# two web servers (one store) and a game server');
  const webArgs = ['--host', '127.0.0.1', '--port', '0', '--db-path', join(tmp, 'web.sqlite'), '--hash-cost', '4', '--log-level', 'warn'];
  // A creates the schema before B opens the same file.
  const a = await spawnServer({ name: 'web-a', entry: 'web-server/server.ts', args: webArgs, timeoutMs: 90_000 });
  servers.push(a);
  const [b, g] = await Promise.all([
    spawnServer({ name: 'web-b', entry: 'web-server/server.ts', args: webArgs, timeoutMs: 90_000 }),
    spawnServer({ name: 'game', entry: 'game-server/server.ts', args: ['--host', '127.0.0.1', '--port', '0', '--db-path', join(tmp,
      'game.sqlite'), '--hash-cost', '4', '--log-level', 'warn'], timeoutMs: 90_000 }),
  ]);
  servers.push(b, g);
  say(`WEB_A=${a.port} WEB_B=${b.port} GAME=${g.port}`);
  say();

  say('# 1. takeout: log in at counter A, then show the token at counter B');
  const A = `http://127.0.0.1:${a.port}`;
  const B = `http://127.0.0.1:${b.port}`;
  const login = await http('npx tsx scripts/labs/http.ts POST http://127.0.0.1:<WEB_A>/v1/sessions --json name=alice password=secret-pw',
    'POST', `${A}/v1/sessions`, { json: { name: 'alice', password: 'secret-pw' } });
  const { token, playerId } = JSON.parse(login.responseBody) as { token: string; playerId: number };
  say(`TOKEN=${token}`);
  say();
  await http('npx tsx scripts/labs/http.ts POST http://127.0.0.1:<WEB_A>/v1/zones/meadow/hunt --token <TOKEN>', 'POST',
    `${A}/v1/zones/meadow/hunt`, { token });
  const me = await http('npx tsx scripts/labs/http.ts GET http://127.0.0.1:<WEB_B>/v1/me --token <TOKEN>', 'GET', `${B}/v1/me`, { token });
  const meB = JSON.parse(me.responseBody) as { id: number; hunts?: number };
  check(`counter B answers counter A's player (id ${playerId} = ${meB.id}) with the hunt A recorded`,
    meB.id === playerId && /"hunts":1\b/.test(me.responseBody));
  await http('npx tsx scripts/labs/http.ts GET http://127.0.0.1:<WEB_B>/v1/me/inventory --token <TOKEN>', 'GET', `${B}/v1/me/inventory`,
    { token });
  const anon = await exchange('GET', `${B}/v1/me`);
  check('the same request without its token is refused: the counter remembers nothing', anon.status === 401);
  say();

  say('# 2. dine-in: carol sits at table town-1; bob logs in, joins her table and moves');
  step('npm run client -- --port <GAME> --name carol --password secret-pw');
  const carol = new Client(g.port, ['--name', 'carol', '--password', 'secret-pw']);
  await carol.line(/^< player\.login /);
  say('> channel.join channel=town-1');
  carol.type('channel.join channel=town-1');
  await carol.line(/^< channel\.join /);
  step('npm run client -- --port <GAME> --name bob --password secret-pw');
  const bob = new Client(g.port, ['--name', 'bob', '--password', 'secret-pw']);
  const bobLogin = await bob.line(/^< player\.login /);
  for (const l of ['channel.join channel=town-1', 'channel.move x=10 y=20']) {
    say(`> ${l}`);
    bob.type(l);
  }
  await bob.line(/^< channel\.move /);
  await carol.line(/^! channel\.moved /);
  say("bob's screen:");
  say(bob.out.trimEnd());
  say("carol's screen (the lines starting with ! are pushes: the server spoke first):");
  say(carol.out.trimEnd());
  check('carol received bob\'s join and move as pushes, without asking',
    /^! channel\.joined .*"bob"/m.test(carol.out) && /^! channel\.moved .*"x":10,"y":20/m.test(carol.out));
  const bobToken = /"token":"([^"]+)"/.exec(bobLogin)?.[1] ?? '';
  say(`BOB_TOKEN=${bobToken}   (the "token" of bob's < player.login answer)`);
  say();

  say("# 3. bob's client dies (kill -9, or its window is closed): the connection is gone");
  bob.proc.kill('SIGKILL');
  await new Promise<void>((r) => (bob.proc.exitCode !== null || bob.proc.signalCode !== null ? r() : bob.proc.once('exit', () => r())));
  say(`killed bob's client (pid ${bob.proc.pid})`);
  say();

  say('# 4. come back on a new connection and resume the session with the token');
  step('npm run client -- --port <GAME>');
  const again = new Client(g.port, []);
  await again.line(/^connected to /);
  for (const l of ['session.resume token=<BOB_TOKEN>', 'player.get']) {
    say(`> ${l}`);
    again.type(l.replace('<BOB_TOKEN>', bobToken));
  }
  await again.line(/^< player\.get /);
  await again.end();
  say(again.out.trimEnd());
  const resume = again.out.split('\n').find((l) => l.startsWith('< session.resume ')) ?? '';
  check('the resumed session still sits at town-1 (10, 20): the server kept it in memory',
    /"resumed":true,"channel":"town-1","x":10,"y":20/.test(resume));
  const fresh = new Client(g.port, []);
  await fresh.line(/^connected to /);
  fresh.type('player.get');
  await fresh.line(/^< player\.get /);
  await fresh.end();
  check('a request before login/resume on a fresh connection is refused', /^< player\.get ERROR UNAUTHORIZED/m.test(fresh.out));
  await carol.end();
}

async function cleanup(): Promise<void> {
  for (const c of clients) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
}

try {
  await main();
} catch (e) {
  fails++;
  say(`FAIL ${(e as Error).message}`);
} finally {
  await cleanup();
}
say(fails === 0 ? 'two-restaurants: all checks passed' : `two-restaurants: ${fails} checks FAILED`);
process.exit(fails === 0 ? 0 : 1);
