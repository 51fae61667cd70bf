export { createKnexOutbox, type KnexOutbox, type KnexOutboxOptions } from './knex-outbox.js';
export type { KnexTransaction } from './knex-client.js';
export { knexInbox } from './inbox.js';
