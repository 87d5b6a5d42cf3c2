/**
 * Lab 7 (docs/labs/07-add-a-command.md): add item.craft to the command table in a scratch copy of
 * the project (the real table is never touched), then show that both servers expose it with no
 * server edit: an OpenAPI operation with operationId item.craft in the web server's /docs/json, and
 * the op over TCP on the game server. Finally run the command's own test and the project's
 * commands-doc staleness test inside the copy.
 *
 *   npx tsx scripts/labs/add-command.ts
 *
 * Steps (each printed): copy shared/, web-server/, game-server/, docs/, test/helpers, test/internals (the lint gate with its config),
 * package.json, tsconfig.json, vitest.config.ts into a temp dir (node_modules is a symlink); write
 * shared/commands/craft.ts; apply table.patch (in Node: no `patch` program needed); `npm run
 * docs:commands`; start both servers from the copy (the game server on a SQLite file in the copy);
 * call item.craft over HTTP and TCP; print the ledger rows the craft wrote; `npx vitest run` in the copy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { cliFlags, type FlagSpecs } from '../../shared/config.ts';
import { GameClient, GameError } from '../../game-server/client/client.ts';
import { REPO_ROOT } from '../../loadgen/procs/child.ts';
import Database from 'better-sqlite3';
import { applyPatch } from './apply-patch.ts';
import { ledgerRows } from './ledger-rows.ts';
import { machine, writeJson } from './lib.ts';

const flags = {
  out: { type: 'string', default: '', help: 'also write the results as JSON here' },
  keep: { type: 'boolean', default: false, help: 'keep the scratch copy and print its path' },
  tests: { type: 'boolean', default: true, help: 'run the tests in the copy (--no-tests skips them)' },
} as const satisfies FlagSpecs;
const f = cliFlags(
  'usage: npx tsx scripts/labs/add-command.ts [options]\n\nAdd item.craft to a scratch copy of the command table; check both servers ' +
    'expose it; run its tests.', flags);

const here = resolve(REPO_ROOT, 'scripts/labs/add-command');
const say = (s: string) => process.stdout.write(`${s}\n`);
const dir = mkdtempSync(join(os.tmpdir(), 'lab-craft-'));
const children: ChildProcess[] = [];
const checks: Record<string, boolean | string> = {};
let failed = false;
const check = (name: string, ok: boolean, detail = '') => {
  checks[name] = ok ? true : detail || false;
  if (!ok) failed = true;
  say(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
};

function run(cmd: string, args: string[], timeoutMs: number): { status: number | null; out: string } {
  say(`$ ${cmd} ${args.join(' ')}`);
  const p = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env,
    FORCE_COLOR: '0', NO_COLOR: '1' } });
  return { status: p.status, out: `${p.stdout ?? ''}${p.stderr ?? ''}` };
}

/** Start a server from the copy; resolve with its announce line. */
function startFromCopy(entry: string, args: string[]): Promise<{ line: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(dir, entry), '--host', '127.0.0.1', '--port', '0', '--store', 'memory',
    '--log-level', 'warn', '--hash-cost', '4', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${entry} did not start in 90 s: ${err.slice(-800)}`)), 90_000);
    proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => /listening on/.test(l));
      if (line) {
        clearTimeout(timer);
        res({ line, proc });
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(timer);
      rej(new Error(`${entry} exited ${c}: ${err.slice(-800)}`));
    });
  });
}

try {
  say(`scratch copy: ${dir}`);
  for (const p of ['shared', 'web-server', 'game-server', 'docs/commands.md', 'docs/errors.md', 'test/helpers', 'test/internals',
    'package.json', 'tsconfig.json', 'vitest.config.ts', 'eslint.config.js']) cpSync(join(REPO_ROOT, p), join(dir, p), { recursive: true });
  // a junction on Windows: it needs no administrator rights, unlike a directory symlink
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), process.platform === 'win32' ? 'junction' : 'dir');
  writeFileSync(join(dir, 'shared/commands/craft.ts'), readFileSync(join(here, 'craft.ts.txt')));
  writeFileSync(join(dir, 'test/craft.test.ts'), readFileSync(join(here, 'craft.test.ts.txt')));
  say('wrote shared/commands/craft.ts and test/craft.test.ts');
  say('$ apply scripts/labs/add-command/table.patch to shared/commands/table.ts');
  const tablePath = join(dir, 'shared/commands/table.ts');
  let patchError = '';
  try {
    writeFileSync(tablePath, applyPatch(readFileSync(tablePath, 'utf8'), readFileSync(join(here, 'table.patch'), 'utf8')));
  } catch (e) {
    patchError = (e as Error).message;
  }
  check('table.patch applies to shared/commands/table.ts', !patchError, patchError);
  if (patchError) throw new Error('the patch no longer applies: the real table changed; update scripts/labs/add-command/table.patch');

  const doc = run(process.execPath, ['--import', 'tsx', 'shared/cli/commands-doc.ts'], 60_000);
  check('npm run docs:commands lists item.craft', doc.status === 0 && readFileSync(join(dir, 'docs/commands.md'),
    'utf8').includes('`item.craft`'), doc.out.trim().slice(-300));

  // the game server keeps its store in the copy: the craft's ledger rows can be read afterwards
  const gameDb = join(dir, 'data', 'lab7-game.sqlite');
  const [web, game] = await Promise.all([startFromCopy('web-server/server.ts', ['--no-rate-limit']), startFromCopy('game-server/server.ts',
    ['--admin-port', '-1', '--store', 'sqlite', '--db-path', gameDb])]);
  say(web.line);
  say(game.line);
  const webUrl = /(http:\/\/[\d.]+:\d+)/.exec(web.line)![1];
  const gm = /tcp:\/\/([\d.]+):(\d+)/.exec(game.line)!;

  // Web: the OpenAPI document has an operation named item.craft, generated from the table.
  const spec = (await (await fetch(`${webUrl}/docs/json`, { signal: AbortSignal.timeout(10_000) })).json()) as { paths: Record<string,
    Record<string, { operationId?: string }>> };
  const op = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, o]) => ({ path,
    method: m.toUpperCase(), id: o.operationId }))).find((o) => o.id === 'item.craft');
  check('web /docs/json has operationId item.craft', !!op, op ? `${op.method} ${op.path}` : 'not found');

  // Web: call it. A new player has no jelly: the handler answers INSUFFICIENT (not 404: the route exists).
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${webUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const loginRes = (await (await post('/v1/sessions', { name: 'crafter_web', password: 'craft-pw' })).json()) as { token: string };
  const webCraft = await post('/v1/me/items/potion_small/craft', {}, loginRes.token);
  const webBody = (await webCraft.json()) as { code?: string };
  check('web POST /v1/me/items/potion_small/craft reaches the handler', webCraft.status === 422 && webBody.code === 'INSUFFICIENT',
    `HTTP ${webCraft.status} ${webBody.code ?? ''}`);

  // Game: the same op over TCP. Hunt (bounded) until two jelly, then craft.
  const c = await GameClient.connect({ host: gm[1], port: Number(gm[2]), keepalive: false, timeoutMs: 10_000 });
  try {
    await c.login('crafter_tcp', 'craft-pw');
    let first = '';
    try {
      await c.call('item.craft', { itemId: 'potion_small' });
    } catch (e) {
      first = (e as GameError).code;
    }
    check('game op item.craft exists (a new player gets INSUFFICIENT, not UNKNOWN_OP)', first === 'INSUFFICIENT', first);
    let jelly = 0;
    let hunts = 0;
    for (; hunts < 40 && jelly < 2; hunts++) {
      const h = (await c.call('world.hunt', { zone: 'meadow' })) as { loot: { item: string; qty: number }[]; hp: number };
      jelly += h.loot.filter((l) => l.item === 'slime_jelly').reduce((a, l) => a + l.qty, 0);
      if (h.hp < 20) break;
    }
    const crafted = (await c.call('item.craft', { itemId: 'potion_small' })) as { itemId: string; have: number; used: unknown };
    say(`< item.craft ${JSON.stringify(crafted)} (after ${hunts} hunts)`);
    check('game op item.craft crafts a potion from two jelly', crafted.itemId === 'potion_small' && crafted.have >= 1);
  } finally {
    await c.close();
  }
  // The ledger rows the craft wrote, read from the game server's file (WAL: readers see committed rows).
  const db = new Database(gameDb, { readonly: true });
  try {
    say(`$ npx tsx scripts/labs/ledger-rows.ts --db-path ${gameDb} --reason craft`);
    const rows = ledgerRows(db, 'craft');
    for (const r of rows) say(`ledger ${JSON.stringify(r)}`);
    check('the craft wrote its ledger rows: two jelly out, one potion in, reason craft',
      rows.some((r) => r.item === 'slime_jelly' && r.delta === -2) && rows.some((r) => r.item === 'potion_small' && r.delta === 1));
  } finally {
    db.close();
  }
  for (const ch of children) ch.kill('SIGTERM');

  if (f.tests) {
    const t = run(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', 'test/craft.test.ts', 'test/internals'], 120_000);
    const summary = t.out.split('\n').filter((l) => /Test Files|Tests /.test(l)).map((l) => l.trim()).join('; ');
    say(summary || t.out.slice(-1500));
    check('vitest in the copy: item.craft test + commands-doc staleness + errors table', t.status === 0,
      t.status === 0 ? '' : t.out.slice(-1500));
  }
} catch (e) {
  check('lab ran to the end', false, (e as Error).message);
} finally {
  for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');
  if (f.keep) say(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
writeJson(f.out, { tool: 'scripts/labs/add-command', machine: machine(), checks, ok: !failed });
say(failed ? 'add-command: FAILED' : 'add-command: item.craft is on both servers, from one table entry');
process.exit(failed ? 1 : 0);
