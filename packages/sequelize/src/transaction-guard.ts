import { OutboxTransactionRequiredError } from '@outboxkit/core';
import type { Sequelize, Transaction } from 'sequelize';

/**
 * The parts of a Sequelize 6 `Transaction` this plugin reads. `finished`, `parent` and
 * `connection` are set by Sequelize itself but missing from its type declarations.
 */
export interface TransactionInternals {
  readonly sequelize: Sequelize;
  /** `'commit'` or `'rollback'` once COMMIT/ROLLBACK was sent; undefined while open. */
  readonly finished?: 'commit' | 'rollback';
  /** The outer transaction of a savepoint. */
  readonly parent?: Transaction | null;
  /** The raw driver connection held for this transaction: pg Client, mysql2 Connection, sqlite3 Database. */
  readonly connection?: unknown;
  afterCommit(fn: (transaction: Transaction) => void | Promise<void>): void;
}

/** What `Sequelize.useCLS()` stored: Sequelize reads the managed transaction with `get('transaction')`. */
interface ClsNamespaceLike {
  get(key: string): unknown;
}

const USAGE =
  'pass the transaction the business change runs in, e.g.\n' +
  '  await sequelize.transaction(async (transaction) => {\n' +
  '    await Order.create(order, { transaction });\n' +
  "    await outbox.add({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload }, { transaction });\n" +
  '  });\n' +
  '(or enable Sequelize.useCLS(namespace) and call it inside sequelize.transaction(async () => ...)). ' +
  'Without it the event would be written in auto-commit mode, apart from the change: the dual write the outbox exists to prevent.';

/** The transaction Sequelize's CLS namespace holds for the current async context, if any. */
export function clsTransaction(sequelize: Sequelize): unknown {
  const cls = (sequelize.constructor as { _cls?: ClsNamespaceLike })._cls;
  return cls?.get('transaction') ?? undefined;
}

/**
 * The transaction a write must join, picked the way Sequelize picks it: the explicit
 * `options.transaction`, else (only when it is `undefined`) the CLS transaction. `null` means
 * "no transaction" in Sequelize, so it is refused rather than replaced by CLS. Throws
 * {@link OutboxTransactionRequiredError} unless the result is an open transaction of `sequelize`.
 */
export function requireOpenTransaction(sequelize: Sequelize, explicit: unknown, what: string): Transaction {
  const candidate = explicit === undefined ? clsTransaction(sequelize) : explicit;
  if (candidate === undefined || candidate === null) {
    throw new OutboxTransactionRequiredError(`${what} was called without a transaction: ${USAGE}`);
  }
  if (!isTransaction(candidate)) {
    throw new OutboxTransactionRequiredError(`${what}: options.transaction is not a Sequelize transaction; ${USAGE}`);
  }
  if (candidate.sequelize !== sequelize) {
    throw new OutboxTransactionRequiredError(
      `${what}: the transaction belongs to another Sequelize instance (another database connection), so the event could ` +
        'not commit with it. Pass a transaction of the Sequelize instance given to createSequelizeOutbox.',
    );
  }
  // A savepoint is only as open as every transaction around it.
  for (let tx: TransactionInternals | null | undefined = candidate; tx; tx = tx.parent as TransactionInternals | null | undefined) {
    if (tx.finished !== undefined) {
      throw new OutboxTransactionRequiredError(
        `${what}: the transaction has already finished (${tx.finished}); an event written now would not be part of it. ` +
          'Write events before commit, inside the transaction: ' +
          USAGE,
      );
    }
  }
  if (rootOf(candidate).connection == null) {
    throw new OutboxTransactionRequiredError(`${what}: the transaction has not started (it holds no connection); ${USAGE}`);
  }
  return candidate as unknown as Transaction;
}

/** The outermost transaction: the one that holds the connection and really commits. */
export function rootOf(transaction: Transaction | TransactionInternals): TransactionInternals {
  let tx = transaction as TransactionInternals;
  while (tx.parent) tx = tx.parent as unknown as TransactionInternals;
  return tx;
}

function isTransaction(value: unknown): value is TransactionInternals {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TransactionInternals).afterCommit === 'function' &&
    typeof (value as TransactionInternals).sequelize === 'object'
  );
}
