// Lint guards what tests cannot see: workflow determinism and dropped promises.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.herald/**', 'test/ui/artifacts/**', 'bench/results/**'] },
  {
    files: ['src/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.base],
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Workflow code is replayed: no Node builtins, no I/O modules, and only *types* from the I/O layers.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: no Node builtins.' })),
          patterns: [
            {
              group: ['**/activities/**', '**/store/**', '**/signing/**', '**/http/**', '**/embedded/**', '**/client/**', '**/worker/**', 'undici', 'pino', 'kysely', 'better-sqlite3', 'pg'],
              allowTypeImports: true,
              message: 'Workflows may import only types from the I/O layers (activities run them).',
            },
          ],
        },
      ],
    },
  },
);
