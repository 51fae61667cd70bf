import type { QueryResult, SqlExecutor } from '@outboxkit/core';
import { unwrapDriverError } from './driver-error.js';

/**
 * The two raw-SQL methods of a Prisma client (base or interactive-transaction) that outboxkit
 * calls. Both take the database's native placeholders (`$1` on PostgreSQL, `?` elsewhere) and
 * run on the transaction's own connection when called on `tx`.
 */
export interface PrismaRawClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/**
 * Statements whose rows a dialect may read. Prisma has two raw calls: `$queryRawUnsafe` returns
 * rows but no affected-row count, `$executeRawUnsafe` the count but no rows; core's
 * `QueryResult` needs whichever the statement produces.
 */
const RETURNS_ROWS = /^\s*(?:select|with|values|show|pragma|explain)\b|\breturning\b/i;

/**
 * Adapts Prisma's interactive-transaction client to core's `SqlExecutor`, so a dialect's
 * statements run inside the caller's transaction.
 *
 * Values come back as Prisma decodes them: BIGINT and COUNT(*) as `bigint`, JSON columns parsed,
 * timestamps as `Date`; the dialects' row readers accept these. A failed statement rejects with
 * a {@link PrismaDriverError} carrying the driver's own error code, so dialects recognise it as
 * they recognise a plain driver error (a duplicate key, a missing savepoint).
 *
 * @example
 * await prisma.$transaction(async (tx) => {
 *   await writeEvents(dialect, prismaExecutor(tx), event, { transactionChecked: true });
 * });
 */
export function prismaExecutor(tx: PrismaRawClient): SqlExecutor {
  return {
    // Only ever built over a transaction client (see outbox-extension.ts); SQLite's dialect reads it.
    inTransaction: true,
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      try {
        if (!RETURNS_ROWS.test(sql)) {
          const rowCount = await tx.$executeRawUnsafe(sql, ...params);
          return { rows: [], rowCount };
        }
        const rows = await tx.$queryRawUnsafe<Row[]>(sql, ...params);
        return { rows, rowCount: rows.length };
      } catch (error) {
        throw unwrapDriverError(error, tx);
      }
    },
  };
}
