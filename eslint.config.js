// Lint: typescript-eslint with type-aware rules (no-floating-promises,
// switch-exhaustiveness-check) on all TypeScript; generated protobuf code is skipped.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'web/dist/**', '**/pb/*.ts', '.data/**', '.build/**'] },
  js.configs.recommended,
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off'
    }
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'path', 'os', 'child_process', '../node/*', '../../node/*', '../../../node/*', '../web/*', '../../web/*', '@signalapp/*'], message: 'src/ runs in browsers: platform pieces are passed in by node/ or web/' }] }]
    }
  },
  {
    files: ['node/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@signalapp/*'], message: 'libsignal-client is AGPL: benchmarks only' }] }]
    }
  },
  {
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@signalapp/*'], message: 'libsignal-client is AGPL: benchmarks only' },
        { group: ['node:*', 'fs', 'path', 'os', 'child_process', '../node/*', '../../node/*', '../../../node/*'], message: 'web/ runs in browsers: no Node built-ins, nothing from node/' }
      ] }]
    }
  },
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: "MemberExpression[object.name=/^(describe|it|context)$/][property.name=/^(only|skip)$/]", message: 'focused or skipped tests must not land' }] }
  }
)
