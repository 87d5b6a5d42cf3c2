// The lint gate, inside `npm test` as fastify's test script runs its linter: typescript-eslint's
// recommended rules, no unused code, 140 columns for code (eslint.config.js). A test, so a lint error
// counts as a failure in CI's count line like any other.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('lint', () => {
  it('eslint . reports nothing', { timeout: 180_000 }, async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((r) =>
      r.messages.map((m) => `${r.filePath.slice(ROOT.length)}:${m.line}:${m.column} ${m.ruleId ?? ''} ${m.message}`),
    );
    expect(problems).toEqual([]);
  });
});
