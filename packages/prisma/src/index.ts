export { outbox, type InteractiveTransactionClient, type OutboxClientMethods, type OutboxExtension, type OutboxWrite } from './outbox-extension.js';
export { normalizeOutboxExtensionOptions, type OutboxExtensionOptions, type ResolvedOutboxExtensionOptions } from './outbox-options.js';
export { prismaExecutor, type PrismaRawClient } from './prisma-executor.js';
export { PrismaDriverError } from './driver-error.js';
export { prismaInbox, type PrismaInboxTransactionOptions, type PrismaInteractiveClient } from './inbox.js';
