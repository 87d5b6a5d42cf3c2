// The lint gate, run by `npm test` (as fastify's test script runs its linter): typescript-eslint's
// recommended rules, no unused code, and a line length the code meets.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'data/**', 'docs/**', '.cache/**', '.wine/**', 'labs-out/**', 'coverage/**', '**/*.txt'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', clearImmediate: 'readonly',
        queueMicrotask: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly', fetch: 'readonly',
        structuredClone: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly', globalThis: 'readonly',
      },
    },
    rules: {
      // Long test names, SQL and messages may run on; code may not.
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      'prefer-const': ['error', { destructuring: 'all' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Tests read loosely typed response bodies and hand-craft bad input on purpose.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
