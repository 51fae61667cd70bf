export {
  createSequelizeOutbox,
  type AddOptions,
  type EventsInput,
  type SequelizeOutbox,
  type SequelizeOutboxOptions,
} from './sequelize-outbox.js';
export type { BulkStatementMappers, Emitted, HookOptions, ModelOutboxHooks } from './model-hooks.js';
export { asyncLocalStorageNamespace, type ClsNamespace } from './cls-namespace.js';
export { sequelizeInbox } from './inbox.js';
