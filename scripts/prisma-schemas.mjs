// Renders one Prisma schema per provider from prisma/models.prisma.
//
// Prisma keeps migrations and the generated client per provider, so SQLite and PostgreSQL each need
// a schema file of their own; rendering both from one file keeps their models identical by
// construction. A line ending in `// postgresql-only` (GIN and trigram indexes) is dropped for SQLite.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const prismaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');
export const providers = ['sqlite', 'postgresql'];
const pgOnly = /\s*\/\/ postgresql-only\s*$/;

const headers = {
  sqlite: `datasource db {
  provider     = "sqlite"
  relationMode = "prisma"
}`,
  postgresql: `datasource db {
  provider     = "postgresql"
  relationMode = "prisma"
}`,
};

/** The text of prisma/<provider>/schema.prisma for the models as they are now. */
export function renderSchema(provider) {
  const models = readFileSync(join(prismaDir, 'models.prisma'), 'utf8');
  const lines = models
    .split('\n')
    .filter((line) => provider === 'postgresql' || !pgOnly.test(line))
    .map((line) => line.replace(pgOnly, ''));
  // relationJoins lets PostgreSQL load a whole nested span tree in one statement (LATERAL joins).
  const previewFeatures = provider === 'postgresql' ? '["relationJoins"]' : '[]';
  return `// Generated from prisma/models.prisma by \`npm run prisma:generate\`: edit that file, not this one.

generator client {
  provider        = "prisma-client"
  output          = "../../src/generated/${provider}"
  moduleFormat    = "esm"
  previewFeatures = ${previewFeatures}
}
${provider === 'sqlite' ? POTHOS_GENERATOR : ''}
${headers[provider]}

${lines.join('\n')}`;
}

// Pothos' types are generated once, from the SQLite schema: both providers have the same models.
const POTHOS_GENERATOR = `
generator pothos {
  provider     = "prisma-pothos-types"
  output       = "../../src/generated/pothos-types.ts"
  clientOutput = "./sqlite"
}
`;
