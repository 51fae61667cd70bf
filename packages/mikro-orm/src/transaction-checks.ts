import { OutboxConfigError } from '@outboxkit/core';

/** The two MikroORM options that decide whether a flush runs in a transaction. */
export interface TransactionSettings {
  disableTransactions?: boolean | undefined;
  implicitTransactions?: boolean | undefined;
}

/**
 * Refuses settings under which a flush's entity changes would commit statement by statement:
 * the events could then not share their transaction, which is the whole point of the outbox.
 */
export function assertTransactionsEnabled(settings: TransactionSettings): void {
  if (settings.disableTransactions === true) {
    throw new OutboxConfigError(
      'disableTransactions',
      'MikroORM transactions are disabled, so outbox events could not commit atomically with the entity changes; remove disableTransactions: true',
    );
  }
  if (settings.implicitTransactions === false) {
    throw new OutboxConfigError(
      'implicitTransactions',
      'with implicitTransactions: false a flush outside em.transactional() writes its changes without a transaction, so outbox events ' +
        'could not commit atomically with them; remove implicitTransactions: false',
    );
  }
}
