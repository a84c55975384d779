// Lint guards what tests cannot see: workflow determinism and dropped promises.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
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
    // Layers point one way: no module may reach itself again through its imports (types included, so the
    // activities → client → workflows → activities circle cannot come back).
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` })],
      // The rule parses every imported file to follow the graph: TypeScript files need the TypeScript parser.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Workflow code runs in the worker's sandbox: outside src/workflows/ and the worker, only its types may be
    // imported (start workflows by type name), so no other process loads workflow modules.
    files: ['src/**/*.ts'],
    ignores: ['src/workflows/**', 'src/worker/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/workflows/**'], allowTypeImports: true, message: 'Import only types from workflow code; start workflows by type name.' }] },
      ],
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
