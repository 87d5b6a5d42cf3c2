/**
 * Renders docs/commands.md from the command table, so the page cannot drift from the code:
 * `npm run docs:commands` writes it; test/internals/commands-doc.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from 'typebox';
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

function typeName(v: TSchema): string {
  const s = v as { type?: string | string[]; anyOf?: TSchema[]; const?: unknown; items?: TSchema };
  if (s.anyOf) return s.anyOf.map(typeName).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === 'array') return `${typeName(s.items!)}[]`;
  if (s.type === 'object') return `{ ${brief(v)} }`;
  return String(s.type ?? 'any');
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
    lines.push(`| \`${c.name}\` | ${c.kind} | ${c.auth ? 'token' : '—'} | \`${c.http.method} ${c.http.path}\` | ${cell(brief(c.input)) || '—'} | ${cell(brief(c.output) || typeName(c.output))} |`);
  }
  lines.push('', '## Summaries', '');
  for (const c of commandList) lines.push(`- \`${c.name}\`: ${c.summary}`);
  lines.push('', '## Events', '', '| event | body |', '|---|---|');
  for (const [name, schema] of Object.entries(EventSchemas)) lines.push(`| \`${name}\` | ${cell(brief(schema))} |`);
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('../../docs/commands.md', import.meta.url), renderCommandsDoc());
  console.log('wrote docs/commands.md');
}
