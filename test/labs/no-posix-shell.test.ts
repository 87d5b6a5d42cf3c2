// Issue 18: nothing a user runs needs bash. Every npm script and every `$ ` command of the lab pages
// must start the same way from cmd.exe, PowerShell and a POSIX shell.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fencedCommands, posixNeeds } from './posix-shell.ts';
import { ROOT } from './run-lab.ts';

// Scripts still waiting to be moved off a POSIX shell (none left: the Wine harness is Node too).
const PENDING_NPM_SCRIPTS = new Set<string>();

describe('no user-facing command needs a POSIX shell', () => {
  it('the checker flags what cmd.exe or PowerShell cannot run, and passes what they can', () => {
    for (const bad of [
      'bash scripts/labs/two-restaurants.sh',
      'GAME_IO=uring vitest run test/game',
      'npm run compare -- --json $OUT/x.json',
      'npx tsx x.ts > out.json',
      'node a.js & PID=$!',
      "node -e 'console.log(1)'",
      'printf "x\\n" | node cli.ts',
      'npm run build && npm test',
      'curl -s http://127.0.0.1:8080/v1/me',
      'kill -9 123',
    ]) expect(posixNeeds(bad), bad).not.toEqual([]);
    for (const good of [
      'npx tsx scripts/labs/sweep.ts --workload items --vary depth=1,4 --out labs-out/02-items.json',
      'npx tsx scripts/labs/http.ts GET http://127.0.0.1:<WEB_B>/v1/me --token <TOKEN>',
      'npm run client -- --port <GAME> --name carol --password secret-pw',
      'vitest run --project game-uring',
      'tsx scripts/ensure-test-deps.ts',
    ]) expect(posixNeeds(good), good).toEqual([]);
  });

  it('package.json scripts', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const bad = Object.entries(scripts).filter(([name, cmd]) => !PENDING_NPM_SCRIPTS.has(name) && posixNeeds(cmd).length).map(([name,
      cmd]) => `${name}: ${cmd} — ${posixNeeds(cmd).join('; ')}`);
    expect(bad).toEqual([]);
    for (const name of PENDING_NPM_SCRIPTS) expect(scripts[name], `${name} is listed as pending but is gone`).toBeDefined();
  });

  it('every $ command of every lab page', () => {
    const dir = join(ROOT, 'docs/labs');
    const bad: string[] = [];
    let seen = 0;
    for (const p of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
      for (const cmd of fencedCommands(readFileSync(join(dir, p), 'utf8'))) {
        seen++;
        const why = posixNeeds(cmd);
        if (why.length) bad.push(`${p}: ${cmd} — ${why.join('; ')}`);
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });
});
