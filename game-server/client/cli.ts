/**
 * Interactive client: `npx tsx game-server/client/cli.ts --host 127.0.0.1 --port 7777 --name alice --password pw`
 *
 * Type an op and its body as key=value pairs or JSON:
 *   world.hunt zone=meadow
 *   item.give itemId=potion_small qty=1 to=bob
 *   channel.say {"text": "hello there"}
 * Responses print as `< op {json}` (or `< op ERROR CODE message`), pushes as `! event {json}`.
 * `help` lists the ops of the command table; `sleep MS` waits (for scripts); `quit` leaves.
 * Works with piped stdin: lines run in order (each waits for its response), and at end of input
 * the client waits `--linger` ms for pushes, then exits (status 1 if any call failed and --strict).
 */
import readline from 'node:readline';
import { commandList } from '../../shared/commands/table.ts';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { GameClient, GameError } from './client.ts';

const flags = {
  host: { type: 'string', default: '127.0.0.1', env: 'GAME_HOST', help: 'server address' },
  port: { type: 'number', default: 7777, env: 'GAME_PORT', help: 'server port' },
  name: { type: 'string', default: '', env: 'GAME_NAME', help: 'log in as this player at start (created on first login)' },
  password: { type: 'string', default: '', env: 'GAME_PASSWORD', help: 'password for --name' },
  linger: { type: 'number', default: 300, help: 'at end of piped input, wait this long for pushes before exiting (ms)' },
  strict: { type: 'boolean', default: false, help: 'exit with status 1 if any call failed' },
} as const satisfies FlagSpecs;

const cfg = cliFlags('usage: tsx game-server/client/cli.ts [options]\n\nInteractive client of the game server (type `help`).', flags);
const out = (line: string): void => void process.stdout.write(line + '\n');

function parseValue(v: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null') return null;
  if ((v.startsWith('{') || v.startsWith('[') || v.startsWith('"')) && v.length > 1) {
    try {
      return JSON.parse(v);
    } catch {
      /* plain string */
    }
  }
  return v;
}

/** `op k=v k="v w"` or `op {json}` → [op, body]. */
function parseLine(line: string): [string, Record<string, unknown>] {
  const t = line.trim();
  const sp = t.search(/\s/);
  const op = sp < 0 ? t : t.slice(0, sp);
  const rest = sp < 0 ? '' : t.slice(sp + 1).trim();
  if (rest.startsWith('{')) return [op, JSON.parse(rest) as Record<string, unknown>];
  const body: Record<string, unknown> = {};
  const re = /([A-Za-z_][\w.]*)=("([^"\\]|\\.)*"|\S+)/g;
  let m: RegExpExecArray | null;
  let consumed = '';
  while ((m = re.exec(rest))) {
    const raw = m[2];
    body[m[1]] = raw.startsWith('"') ? JSON.parse(raw) : parseValue(raw);
    consumed += m[0];
  }
  if (rest && consumed.length === 0) throw new Error(`cannot parse "${rest}": use key=value pairs or JSON`);
  return [op, body];
}

function help(): string {
  const lines = ['ops (from the shared command table):'];
  for (const c of commandList) {
    const props = Object.keys((c.input as { properties?: Record<string, unknown> }).properties ?? {});
    lines.push(`  ${c.name.padEnd(15)} ${props.map((p) => `${p}=…`).join(' ').padEnd(30)} ${c.summary}`);
  }
  lines.push(`  ${'session.resume'.padEnd(15)} ${'token=…'.padEnd(30)} Restore a parked session (after a reconnect).`);
  lines.push(
    'local: help, sleep MS, drop (cut the TCP connection: the server parks the session), ' +
      'reconnect (new connection + session.resume), quit',
  );
  return lines.join('\n');
}

let failures = 0;
let client: GameClient;
try {
  client = await GameClient.connect({ host: cfg.host, port: cfg.port, keepalive: true });
} catch (e) {
  process.stderr.write(`cannot connect to ${cfg.host}:${cfg.port}: ${(e as Error).message}\n`);
  process.exit(1);
}
out(`connected to ${client.welcome!.server} (protocol ${client.welcome!.protocol}); type help`);
const SHOWN = [
  'item.received', 'quest.progressed', 'channel.joined', 'channel.left', 'channel.moved', 'channel.said', 'shutdown', 'kicked', 'error',
] as const;
for (const ev of SHOWN) {
  client.on(ev, (b) => out(`! ${ev} ${JSON.stringify(b)}`));
}
let closing = false;
/** A `drop` is ours: the connection closes, and the session waits on the server for `reconnect`. */
let dropped = false;
client.on('close', () => {
  if (closing || dropped) return;
  out('! connection closed by server');
  process.exit(failures && cfg.strict ? 1 : 0);
});

async function run(line: string): Promise<void> {
  const t = line.trim();
  if (!t || t.startsWith('#')) return;
  if (t === 'help') {
    out(help());
    return;
  }
  if (t === 'quit' || t === 'exit') {
    closing = true;
    await client.close();
    process.exit(failures && cfg.strict ? 1 : 0);
  }
  if (t === 'drop') {
    dropped = true;
    client.drop();
    out('! connection dropped (the server keeps the session parked for its resume grace period)');
    return;
  }
  if (t === 'reconnect') {
    try {
      const r = await client.reconnect();
      dropped = false;
      out(`< session.resume ${JSON.stringify(r)}`);
    } catch (e) {
      failures++;
      out(`< reconnect ERROR ${(e as GameError).code ?? 'ERROR'} ${(e as Error).message}`);
    }
    return;
  }
  const sleep = /^sleep\s+(\d+)$/.exec(t);
  if (sleep) return new Promise((r) => setTimeout(r, Number(sleep[1])));
  let op: string;
  let body: Record<string, unknown>;
  try {
    [op, body] = parseLine(t);
  } catch (e) {
    failures++;
    out(`? ${(e as Error).message}`);
    return;
  }
  try {
    const before = client.address;
    const res =
      op === 'player.login'
        ? await client.login(String(body.name), String(body.password))
        : op === 'channel.join' && typeof body.channel === 'string'
          ? await client.joinChannel(body.channel) // follows WRONG_SHARD to the channel's shard
          : await client.call(op, body);
    if (client.address !== before) out(`~ moved to ${client.address}`);
    out(`< ${op} ${JSON.stringify(res)}`);
  } catch (e) {
    failures++;
    const g = e as GameError;
    out(`< ${op} ERROR ${g.code ?? 'ERROR'} ${g.message}`);
  }
}

if (cfg.name) await run(`player.login ${JSON.stringify({ name: cfg.name, password: cfg.password })}`);

const interactive = process.stdin.isTTY === true;
const rl = readline.createInterface({
  input: process.stdin,
  output: interactive ? process.stdout : undefined,
  prompt: interactive ? '> ' : '',
  terminal: interactive,
});
// Lines run one after another, in order.
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(() => run(line)).then(() => {
    if (interactive) rl.prompt();
  });
});
rl.on('close', () => {
  chain.then(async () => {
    if (!interactive) await new Promise((r) => setTimeout(r, cfg.linger));
    closing = true;
    await client.close();
    process.exit(failures && cfg.strict ? 1 : 0);
  });
});
if (interactive) rl.prompt();
