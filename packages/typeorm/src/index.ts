export { createTypeormOutbox, type TypeormOutbox, type TypeormOutboxOptions } from './typeorm-outbox.js';
export type { Emitted, EntityOutboxMappers } from './entity-subscriber.js';
export type { TransactionHandle } from './transaction-guard.js';
export { typeormInbox, type IsolationLevel, type TypeormInboxOptions } from './inbox.js';
