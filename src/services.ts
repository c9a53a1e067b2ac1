/**
 * What services and resolvers are handed: the parts of the application object (src/server.ts) that
 * hold state. One is made per server, so servers started and stopped in one process (tests, the
 * benchmark) share nothing; resolvers find it as `ctx.services`, transports are given it by the
 * server, and a service function takes the parts it uses as its first argument.
 *
 * The kernel's parts are declared here. Each domain declares the part it keeps (its cache, its live
 * streams) beside the code that uses it, by declaration merging:
 *
 *     declare module '../services.js' { interface Services { retention: RetentionRules } }
 *
 * so this file, like the rest of the kernel, imports no domain, while the server, which builds the
 * object, is made by the type checker to provide every part that some domain declares.
 */
import type { Database } from './db/database.js';
import type { PubSub } from './pubsub.js';

export interface Services {
  /** The database: reads through `db.read`, writes through `db.write`. */
  readonly db: Database;
  /** Committed changes to live subscribers and cache invalidations, on every instance. */
  readonly pubsub: PubSub;
}
