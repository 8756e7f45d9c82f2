// `npm run lint`: type-aware typescript-eslint (recommended + strict) over the source, the tests and the bench;
// Prettier owns the layout (`prettier --check`). Deviations from the presets are listed here with their reason.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Migrations are emitted by the ORM and frozen once released; plain JS files are config and test fixtures.
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'src/migrations/', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers, booleans and null have one obvious text form; objects and unknowns still need show()/String().
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true, allowRegExp: true },
      ],
      // `() => void promise` and `x => set.add(x)` shorthands are idiomatic; statements returning void stay flagged.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // tsconfig sets noUncheckedIndexedAccess, so every `xs[i]` is `T | undefined`; `xs[i]!` after a bounds check or a
      // `Map.get` after `has` is the idiom that says "checked here". The rule would ban exactly those.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read the CLI's JSON output and API payloads as untyped values on purpose, then assert their shape.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
