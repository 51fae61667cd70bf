export { drizzleOutbox, type DrizzleDatabase, type DrizzleOutbox, type DrizzleOutboxOptions, type EventsInput, type OutboxWriter } from './drizzle-outbox.js';
export { drizzleInbox, type DrizzleInbox, type DrizzleTransactionOf } from './inbox.js';
export { SUPPORTED_DRIVERS } from './drivers.js';
