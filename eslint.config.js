// ESLint (flat config) with typescript-eslint's rules that need no type information, so a run stays fast;
// formatting is prettier's (`npm run format:check`). The decision core has rules of its own: it stays pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The decision core: plan, rollout, gates, judge, stop-the-line, drift, and the pure status and availability rules (DESIGN.md). */
const CORE = [
  'src/plan/**/*.ts',
  'src/rollout/**/*.ts',
  'src/gates/**/*.ts',
  'src/judge/**/*.ts',
  'src/status/**/*.ts',
  'src/linestop/**/*.ts',
  'src/drift/**/*.ts',
  'src/incidents/rules.ts',
  'src/sla/availability.ts',
  'src/sla/series.ts',
  'src/sla/pairs.ts',
  'src/sla/maintenance.ts',
  'src/sla/uptime.ts',
];
/** Core files that are the core's edge on purpose: store-level operations (they read and write the store). */
const CORE_EDGE = ['src/rollout/operations.ts', 'src/rollout/freeze-operations.ts', 'src/drift/operations.ts'];
/** Folders whose code does I/O or wiring; the core may use their types, never their code. */
const EDGE_FOLDERS = ['store', 'drivers', 'evidence', 'api', 'cli', 'controller', 'demo'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', 'assets/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        performance: 'readonly',
        crypto: 'readonly',
        globalThis: 'readonly',
        NodeJS: 'readonly',
        document: 'readonly',
        window: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Tests read JSON documents whose shape they check as they go.
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The decision core is pure: no clock but the one it is given, no randomness, no timers, no node: modules,
    // and no code of the edge folders (their types are fine: they describe what the core hands back).
    files: CORE,
    ignores: [...CORE_EDGE, '**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask'].map(
          (name) => ({ name, message: 'The decision core has no timers: return a wake time and let the controller sleep.' }),
        ),
        ...['fetch', 'process', 'performance', 'crypto'].map((name) => ({
          name,
          message: 'The decision core does no I/O and reads no environment: the edge hands it what it needs.',
        })),
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'The decision core reads no clock: use the `now` it is given (one injected Clock).',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'The decision core reads no clock: use the `now` it is given (one injected Clock).',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'The decision core draws no randomness: take a seeded source (core/random.ts) as an argument.',
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The decision core uses no node: module (no I/O, clock or randomness).' },
            {
              group: EDGE_FOLDERS.flatMap((f) => [`../${f}/*`, `../../${f}/*`, `../${f}`]),
              allowTypeImports: true,
              message: `The decision core may use the types of the edge folders (${EDGE_FOLDERS.join(', ')}), not their code.`,
            },
          ],
        },
      ],
    },
  },
);
