export { withOutbox } from './with-outbox.js';
export { outbox, typedOutbox, type Outbox } from './outbox.js';
export { outboxSubscriber, OutboxSubscriber, type OutboxOptions } from './outbox-subscriber.js';
export { outboxRule, type OutboxRule, type ChangeKind } from './change-rules.js';
export { SUPPORTED_DRIVERS } from './transaction-executor.js';
export { mikroOrmInbox } from './inbox.js';
