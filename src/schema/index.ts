/**
 * The GraphQL schema: each domain's types and root fields, then the write path's mutations and the
 * playground (which records through the write path), registered on the shared builder. The only file of src/schema/ that imports the domains.
 */
import { builder } from './builder.js';
import '../auth/api-key.schema.js';
import '../events/event.schema.js';
import '../metrics/metric.schema.js';
import '../projects/project.schema.js';
import '../retention/retention.schema.js';
import '../sessions/session.schema.js';
import '../costs/cost.schema.js';
import '../conversations/conversation.schema.js';
import '../spans/span.schema.js';
import '../traces/trace.schema.js';
import '../providers/provider.schema.js';
import '../ingest/ingest.schema.js';
import '../playground/playground.schema.js';

export const schema = builder.toSchema();
