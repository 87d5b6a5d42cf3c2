/**
 * Renders docs/commands.md from the command table, so the page cannot drift from the code:
 * `npm run docs:commands` writes it; test/internals/commands-doc.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from 'typebox';
import { PLACES } from '../catalog.ts';
import { DEFAULT_RULES } from '../commands/define.ts';
import { commandList } from '../commands/table.ts';
import { EventSchemas } from '../events.ts';

function brief(schema: TSchema): string {
  const s = schema as { type?: string; properties?: Record<string, TSchema>; required?: string[] };
  if (s.type !== 'object' || !s.properties) return '';
  const req = new Set(s.required ?? []);
  return Object.entries(s.properties)
    .map(([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${typeName(v)}`)
    .join(', ');
}

interface Constrained {
  type?: string | string[];
  anyOf?: TSchema[];
  const?: unknown;
  enum?: unknown[];
  items?: TSchema;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
}

/** What the schema accepts beyond its type, as a reader (or a client author) needs it. */
function constraints(s: Constrained): string {
  const out: string[] = [];
  const range = (lo: number | undefined, hi: number | undefined, unit: string) => {
    if (lo !== undefined && hi !== undefined) out.push(lo === hi ? `${lo}${unit}` : `${lo}..${hi}${unit}`);
    else if (lo !== undefined) out.push(`≥ ${lo}${unit}`);
    else if (hi !== undefined) out.push(`≤ ${hi}${unit}`);
  };
  range(s.minLength, s.maxLength, ' chars');
  range(s.minimum, s.maximum, '');
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.exclusiveMaximum !== undefined) out.push(`< ${s.exclusiveMaximum}`);
  range(s.minItems, s.maxItems, ' items');
  if (s.pattern !== undefined) out.push(`\`${s.pattern}\``);
  if (s.format !== undefined) out.push(s.format);
  return out.length ? ` (${out.join(', ')})` : '';
}

function typeName(v: TSchema): string {
  const s = v as Constrained;
  if (s.anyOf) return s.anyOf.map(typeName).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.type === 'array') return `${typeName(s.items!)}[]${constraints(s)}`;
  if (s.type === 'object') return `{ ${brief(v)} }`;
  return `${String(s.type ?? 'any')}${constraints(s)}`;
}

/** The channel names a server accepts: built from the places and --channels-per-place. */
function channelsSection(): string[] {
  const n = DEFAULT_RULES.channelsPerPlace;
  return [
    '',
    '## Channels',
    '',
    '`channel.join` takes one of a fixed list of names, `<place>-<n>`: the place is the town or a zone, and n runs',
    `from 1 to the servers' \`--channels-per-place\` (\`CHANNELS_PER_PLACE\`, default ${n}). Any other name is \`NOT_FOUND\`.`,
    '',
    '| place | channels (default) |',
    '|---|---|',
    ...PLACES.map((p) => `| \`${p}\` | ${Array.from({ length: n }, (_, i) => `\`${p}-${i + 1}\``).join(', ')} |`),
  ];
}

export function renderCommandsDoc(): string {
  const lines = [
    '# Commands',
    '',
    'Generated from `shared/commands/table.ts` by `npm run docs:commands`; do not edit by hand.',
    'Each command is an op on the game server (`{ id, op, body }`) and a route on the web server (operationId = name).',
    '',
    '| command | kind | auth | HTTP | input | output |',
    '|---|---|---|---|---|---|',
  ];
  // A '|' inside a cell would end it.
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  for (const c of commandList) {
    const http = `\`${c.http.method} ${c.http.path}\``;
    const output = cell(brief(c.output) || typeName(c.output));
    lines.push(`| \`${c.name}\` | ${c.kind} | ${c.auth ? 'token' : '—'} | ${http} | ${cell(brief(c.input)) || '—'} | ${output} |`);
  }
  lines.push(
    '',
    'Constraints follow a field\'s type in parentheses: lengths in characters, numeric ranges (inclusive), and the',
    'regular expression a string must match; values outside them are refused with `INVALID`.',
  );
  lines.push('', '## Summaries', '');
  for (const c of commandList) lines.push(`- \`${c.name}\`: ${c.summary}`);
  lines.push('', '## Events', '', '| event | body |', '|---|---|');
  for (const [name, schema] of Object.entries(EventSchemas)) lines.push(`| \`${name}\` | ${cell(brief(schema))} |`);
  lines.push(...channelsSection());
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../../docs/commands.md', import.meta.url), renderCommandsDoc());
  console.log('wrote docs/commands.md');
}
