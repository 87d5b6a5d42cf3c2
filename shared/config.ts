/**
 * Declarative flags for every entry point: each flag has a type, a default, an environment variable
 * and a help line, so `--help` is generated and a flag cannot exist undocumented.
 * Precedence: command-line flag > environment variable > default.
 */
export type FlagType = 'string' | 'number' | 'boolean';

export interface FlagSpec<T extends FlagType = FlagType> {
  type: T;
  default: T extends 'number' ? number : T extends 'boolean' ? boolean : string;
  help: string;
  env?: string;
  choices?: readonly string[];
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string;
};

export class FlagError extends Error {}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function coerce(spec: FlagSpec, raw: string, where: string): string | number | boolean {
  if (spec.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new FlagError(`${where}: expected a number, got "${raw}"`);
    return n;
  }
  if (spec.type === 'boolean') {
    if (['1', 'true', 'yes', 'on', ''].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    throw new FlagError(`${where}: expected true/false, got "${raw}"`);
  }
  if (spec.choices && !spec.choices.includes(raw)) throw new FlagError(`${where}: expected one of ${spec.choices.join('|')}, got "${raw}"`);
  return raw;
}

export function helpText<S extends FlagSpecs>(usage: string, specs: S): string {
  const lines = [usage, '', 'Options (flag, environment variable, default):'];
  for (const [name, s] of Object.entries(specs)) {
    const flag = s.type === 'boolean' ? `--${kebab(name)}` : `--${kebab(name)} <${s.choices ? s.choices.join('|') : s.type}>`;
    lines.push(`  ${flag.padEnd(36)} ${s.help}`);
    lines.push(`  ${''.padEnd(36)} ${s.env ? `env ${s.env}, ` : ''}default ${JSON.stringify(s.default)}`);
  }
  lines.push(`  ${'--help'.padEnd(36)} print this help`);
  return lines.join('\n');
}

/** Parse argv (without node and script) against specs. Returns null when --help was asked. */
export function parseFlags<S extends FlagSpecs>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): FlagValues<S> | null {
  const byFlag = new Map<string, string>();
  for (const name of Object.keys(specs)) byFlag.set(kebab(name), name);
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const fromEnv = s.env ? env[s.env] : undefined;
    out[name] = fromEnv !== undefined && fromEnv !== '' ? coerce(s, fromEnv, s.env!) : s.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return null;
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument "${arg}"`);
    let key = arg.slice(2);
    let value: string | undefined;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    }
    let negate = false;
    if (!byFlag.has(key) && key.startsWith('no-') && specs[byFlag.get(key.slice(3)) ?? '']?.type === 'boolean') {
      key = key.slice(3);
      negate = true;
    }
    const name = byFlag.get(key);
    if (!name) throw new FlagError(`unknown flag --${key} (see --help)`);
    const spec = specs[name];
    if (spec.type === 'boolean') {
      out[name] = negate ? false : value === undefined ? true : coerce(spec, value, `--${key}`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new FlagError(`--${key} needs a value`);
    }
    out[name] = coerce(spec, value, `--${key}`);
  }
  return out as FlagValues<S>;
}

/** Parse process.argv for a CLI entry: prints help and exits 0 on --help, the error and exits 2 on bad flags. */
export function cliFlags<S extends FlagSpecs>(usage: string, specs: S, argv = process.argv.slice(2)): FlagValues<S> {
  try {
    const v = parseFlags(specs, argv);
    if (v === null) {
      process.stdout.write(helpText(usage, specs) + '\n');
      process.exit(0);
    }
    return v;
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Flags every server shares: the store, the rules, tokens. */
export const commonFlags = {
  store: { type: 'string', default: 'sqlite', choices: ['sqlite', 'memory', 'postgres'], env: 'STORE', help: 'store kind' },
  dbUrl: {
    type: 'string',
    default: '',
    env: 'DATABASE_URL',
    help: 'PostgreSQL URL for --store postgres, e.g. postgres://user@127.0.0.1:5432/takeout (schema migrated on start)',
  },
  dbPool: { type: 'number', default: 10, env: 'DB_POOL', help: 'PostgreSQL connections per process (per game worker)' },
  dbPath: { type: 'string', default: 'data/game.sqlite', env: 'DB_PATH', help: 'SQLite file (created with its schema on first start)' },
  dbSync: {
    type: 'string',
    default: 'normal',
    choices: ['normal', 'full', 'off'],
    env: 'DB_SYNC',
    help: 'SQLite synchronous mode: normal survives a process crash, full also a power loss',
  },
  tokenSecret: {
    type: 'string',
    default: '',
    env: 'TOKEN_SECRET',
    help: 'HMAC secret for session tokens (empty: generated once and kept in the store)',
  },
  tokenTtl: { type: 'number', default: 3600, env: 'TOKEN_TTL', help: 'session token lifetime, seconds' },
  hashCost: {
    type: 'number',
    default: 14,
    env: 'HASH_COST',
    help: 'log2 of the scrypt cost for password hashes (lower only for load tests)',
  },
  worldSeed: { type: 'number', default: 1, env: 'WORLD_SEED', help: 'seed of every loot roll' },
  channelCapacity: { type: 'number', default: 100, env: 'CHANNEL_CAPACITY', help: 'players per channel' },
  channelsPerPlace: { type: 'number', default: 4, env: 'CHANNELS_PER_PLACE', help: 'channels per place (town, each zone)' },
  logLevel: {
    type: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    env: 'LOG_LEVEL',
    help: 'pino log level',
  },
} as const satisfies FlagSpecs;
