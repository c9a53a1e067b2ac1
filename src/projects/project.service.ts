import { database } from '../db/database.js';

/** Until API keys arrive, every request works in this project; every row already carries its id. */
export const DEFAULT_PROJECT_ID = 'default';

export async function ensureDefaultProject(): Promise<void> {
  await database().write((tx) =>
    tx.project.upsert({
      where: { id: DEFAULT_PROJECT_ID },
      create: { id: DEFAULT_PROJECT_ID, name: 'Default project' },
      update: {},
    }),
  );
}
