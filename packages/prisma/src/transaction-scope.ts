/**
 * Telling Prisma's interactive-transaction client from the base client.
 *
 * Prisma has no public API for this. The client it passes to `$transaction(async (tx) => ...)`
 * carries an internal marker the base client lacks:
 * - Prisma >= 7.10: `Symbol.for('prisma.client.transaction.scope_context')`, an object
 *   `{ kind: 'nested', txId, scopeId, scopeState }`; `scopeState` is one object per top-level
 *   transaction, shared by its nested (savepoint) transactions.
 * - Earlier Prisma: `Symbol.for('prisma.client.transaction.id')`, the transaction id string.
 * Both are checked, so an upgrade that renames one fails the tests of this package (base client
 * refused, transaction client accepted) instead of silently writing outside a transaction.
 */
const SCOPE_CONTEXT = Symbol.for('prisma.client.transaction.scope_context');
const TRANSACTION_ID = Symbol.for('prisma.client.transaction.id');

/**
 * Identifies the top-level transaction `client` belongs to (the same value for its nested
 * transactions), or undefined when `client` is not an interactive-transaction client.
 */
export function transactionKeyOf(client: unknown): object | string | undefined {
  if (client === null || (typeof client !== 'object' && typeof client !== 'function')) return undefined;
  const scope = (client as Record<symbol, unknown>)[SCOPE_CONTEXT];
  if (isScopeContext(scope)) return scope.scopeState;
  const id = (client as Record<symbol, unknown>)[TRANSACTION_ID];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function isScopeContext(value: unknown): value is { kind: 'nested'; scopeState: object } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'nested' &&
    typeof (value as { scopeState?: unknown }).scopeState === 'object' &&
    (value as { scopeState?: unknown }).scopeState !== null
  );
}
