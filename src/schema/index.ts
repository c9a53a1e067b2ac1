/** The GraphQL schema: each domain's types and root fields, registered on the shared builder. */
import { builder } from './builder.js';
import '../events/event.schema.js';
import '../metrics/metric.schema.js';
import '../spans/span.schema.js';
import '../traces/trace.schema.js';

export const schema = builder.toSchema();
