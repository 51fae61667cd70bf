export { kyselyOutbox, type EventsInput, type KyselyOutbox, type KyselyOutboxOptions, type OutboxWriter } from './kysely-outbox.js';
export { withOutbox } from './commit-signal.js';
export { kyselyInbox } from './inbox.js';
export { connectionExecutor, transactionExecutor } from './kysely-executor.js';
