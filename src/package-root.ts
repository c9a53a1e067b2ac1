/**
 * The package root: the nearest folder above a module holding package.json, where prisma/ and
 * dist/web/ are. The server runs from the bundle in dist/ (npm start), from src/ (tests, npm run dev)
 * and from dist/ file for file, at different depths, so a fixed relative path would not do.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}
