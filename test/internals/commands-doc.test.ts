import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { channelIds } from '../../shared/catalog.ts';
import { renderCommandsDoc } from '../../shared/cli/commands-doc.ts';
import { DEFAULT_RULES } from '../../shared/commands/define.ts';
import { commandDefs } from '../../shared/commands/table.ts';

it('docs/commands.md is generated from the current command table (npm run docs:commands)', () => {
  expect(readFileSync(new URL('../../docs/commands.md', import.meta.url), 'utf8')).toBe(renderCommandsDoc());
});

it('shows each field\'s constraints from its schema, and every channel a server accepts by default', () => {
  const doc = renderCommandsDoc();
  type ChannelSchema = { pattern: string; minLength: number; maxLength: number };
  const channel = (commandDefs['channel.join'].input as unknown as { properties: { channel: ChannelSchema } }).properties.channel;
  const row = doc.split('\n').find((l) => l.startsWith('| `channel.join` '))!;
  expect(row).toContain(`channel: string (${channel.minLength}..${channel.maxLength} chars, \`${channel.pattern}\`)`);
  expect(doc.split('\n').find((l) => l.startsWith('| `shop.buy` '))).toMatch(/qty: integer \(1\.\.\d+\)/);
  const channels = doc.slice(doc.indexOf('## Channels'));
  for (const id of channelIds(DEFAULT_RULES.channelsPerPlace)) expect(channels).toContain(`\`${id}\``);
});
