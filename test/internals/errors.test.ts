import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodeList, ErrorCodes } from '../../shared/errors.ts';

/** docs/errors.md and the error table must list the same codes with the same HTTP statuses. */
describe('error code table vs docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));

  it('documents every code with its status', () => {
    for (const code of errorCodeList) expect(documented.get(code), code).toBe(ErrorCodes[code].status);
  });
  it('documents no code that does not exist', () => {
    for (const code of documented.keys()) expect(errorCodeList).toContain(code);
  });
});
