// ESLint flat config: typescript-eslint's recommended rules, plus the one layering rule that keeps
// each cloud's libraries inside its own folder (DESIGN.md: linkgate/aws must not load cdktf, and
// the gateway must load neither).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const cloudImport = (names, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: names, message }] }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'cdk.out/', 'cdktf.out/', 'coverage/', '.gen/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['lib/gateway/**', 'lib/tenants/**', 'lib/index.ts'],
    rules: cloudImport(['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdktf', '@cdktf/*', '../aws/*', '../azure/*', '../gcp/*'], 'the gateway and tenant model load no construct library'),
  },
  {
    files: ['lib/aws/**'],
    rules: cloudImport(['cdktf', '@cdktf/*', '../azure/*', '../gcp/*'], 'linkgate/aws must not load cdktf'),
  },
  {
    files: ['lib/azure/**'],
    rules: cloudImport(['aws-cdk-lib', 'aws-cdk-lib/*', '@cdktf/provider-google', '@cdktf/provider-google/*', '../aws/*', '../gcp/*'], 'linkgate/azure loads only cdktf and azurerm'),
  },
  {
    files: ['lib/gcp/**'],
    rules: cloudImport(['aws-cdk-lib', 'aws-cdk-lib/*', '@cdktf/provider-azurerm', '@cdktf/provider-azurerm/*', '../aws/*', '../azure/*'], 'linkgate/gcp loads only cdktf and google'),
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
