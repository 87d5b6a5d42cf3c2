import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderCommandsDoc } from '../../shared/cli/commands-doc.ts';

it('docs/commands.md is generated from the current command table (npm run docs:commands)', () => {
  expect(readFileSync(new URL('../../docs/commands.md', import.meta.url), 'utf8')).toBe(renderCommandsDoc());
});
