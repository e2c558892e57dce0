import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tap/', 'state/', 'tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The dashboard page's own script: plain browser JavaScript, loaded with a <script> tag.
    files: ['web/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', Node: 'readonly', EventSource: 'readonly', uPlot: 'readonly' } },
  },
  {
    // Tests wait on events, not sleeps (issue 9): a state is awaited through an event, a promise or
    // waitFor (test/support/wait-for.ts, a poll with a deadline). A deliberate window of time (to prove
    // a negative) says so: `// eslint-disable-next-line no-restricted-syntax -- why`.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: 'CallExpression[callee.name="setTimeout"][arguments.0.type="Identifier"]',
        message: 'A sleep in a test: wait on an event, a promise or waitFor (test/support/wait-for.ts) instead; a deliberate window says why in an eslint-disable comment.',
      }],
      'no-restricted-imports': ['error', {
        paths: [{ name: 'node:timers/promises', message: 'A sleep in a test: wait on an event, a promise or waitFor (test/support/wait-for.ts).' }],
      }],
    },
  },
  {
    files: ['.dependency-cruiser.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
);
