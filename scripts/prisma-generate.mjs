// Renders the per-provider Prisma schemas and generates both clients and Pothos' types. Runs on
// `npm install` (postinstall). Generation needs no network: Prisma's CLI only insists that a schema
// engine binary exists, and generate never runs it, so any existing file satisfies the check.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { prismaDir, providers, renderSchema } from './prisma-schemas.mjs';

const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  // The Pothos generator is a bin of this package's dependencies; npm scripts put it on PATH, plain node does not.
  PATH: [join(prismaDir, '..', 'node_modules', '.bin'), process.env.PATH].join(delimiter),
};

for (const provider of providers) {
  const schemaPath = join(prismaDir, provider, 'schema.prisma');
  mkdirSync(join(prismaDir, provider), { recursive: true });
  writeFileSync(schemaPath, renderSchema(provider));
  execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schemaPath], { env, stdio: 'inherit' });
}
