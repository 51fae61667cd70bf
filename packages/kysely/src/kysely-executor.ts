import type { QueryResult, SqlExecutor } from '@outboxkit/core';
import { CompiledQuery, type DatabaseConnection, type Transaction } from 'kysely';

/**
 * A `SqlExecutor` on one Kysely `DatabaseConnection`: each dialect statement runs as a raw
 * `CompiledQuery` (its native placeholders: `$1` on PostgreSQL, `?` elsewhere) on the
 * connection the transaction holds, through the Kysely driver's own `executeQuery`.
 *
 * Directly on the connection, not through `trx.executeQuery`: that path runs the Kysely
 * instance's plugins over the result, and a `CamelCasePlugin` would rename the columns the
 * dialects read (`last_sequence` to `lastSequence`). Kysely's driver already normalises what
 * the three drivers return into rows plus `numAffectedRows`/`insertId`.
 */
export function connectionExecutor(connection: DatabaseConnection): SqlExecutor {
  return {
    // Only ever built inside a transaction (see kysely-outbox.ts, inbox.ts); SQLite's dialect reads it.
    inTransaction: true,
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row> & { insertId?: number }> {
      const result = await connection.executeQuery<Row>(CompiledQuery.raw(sql, [...params]));
      const rowCount = result.numAffectedRows === undefined ? result.rows.length : Number(result.numAffectedRows);
      // MySQL's dialect reads the sequence from the OK packet's insert id when it is there.
      return result.insertId === undefined ? { rows: result.rows, rowCount } : { rows: result.rows, rowCount, insertId: Number(result.insertId) };
    },
  };
}

/** A `SqlExecutor` on the connection of the Kysely transaction `trx`, one statement at a time. */
export function transactionExecutor(trx: Transaction<any>): SqlExecutor {
  return {
    inTransaction: true,
    query: <Row>(sql: string, params?: readonly unknown[]) =>
      trx.getExecutor().provideConnection((connection) => connectionExecutor(connection).query<Row>(sql, params)),
  };
}
