import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in `operations/` (used by the tests and the README examples),
 * generated from the committed `schema.graphql`. Runs as part of `npm test`, so they are never stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      // persisted-documents.json: each operation by its sha256 hash, the manifest PERSISTED_OPERATIONS_FILE takes.
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
        importExtension: '.js',
      },
    },
  },
};

export default config;
