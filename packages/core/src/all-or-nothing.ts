import type { SqlExecutor } from './sql.js';

/**
 * A dialect's savepoint statements for one multi-statement write. PostgreSQL needs none: a failed
 * statement aborts its whole transaction. MySQL/MariaDB and SQLite undo only the failed
 * statement, so a write whose second statement fails would leave its first (an aggregate's
 * sequence bump, an earlier event) for a caller who commits anyway.
 */
export interface SavepointStatements {
  /** e.g. `SAVEPOINT outboxkit_write` */
  readonly begin: string;
  /** e.g. `RELEASE SAVEPOINT outboxkit_write` */
  readonly release: string;
  /** e.g. `ROLLBACK TO SAVEPOINT outboxkit_write` */
  readonly rollback: string;
}

/**
 * Runs `write` (statements on `tx`, inside the caller's transaction) so that it leaves all of its
 * changes or none: a savepoint before it, released on success, rolled back to when any of its
 * statements fails — then the error is rethrown, and a caller who commits anyway commits nothing
 * of the write.
 */
export async function allOrNothing<T>(tx: SqlExecutor, savepoint: SavepointStatements, write: () => Promise<T>): Promise<T> {
  await tx.query(savepoint.begin);
  let result: T;
  try {
    result = await write();
  } catch (error) {
    await rollbackTo(() => tx.query(savepoint.rollback));
    throw error;
  }
  await tx.query(savepoint.release);
  return result;
}

/** {@link allOrNothing} for a synchronous driver (better-sqlite3 inside `db.transaction(fn)`); `run` executes one statement. */
export function allOrNothingSync<T>(run: (sql: string) => void, savepoint: SavepointStatements, write: () => T): T {
  run(savepoint.begin);
  let result: T;
  try {
    result = write();
  } catch (error) {
    try {
      run(savepoint.rollback);
    } catch {
      // See rollbackTo: the write's own error is the one to report.
    }
    throw error;
  }
  run(savepoint.release);
  return result;
}

async function rollbackTo(rollback: () => Promise<unknown>): Promise<void> {
  try {
    await rollback();
  } catch {
    // The connection or transaction is gone (then nothing of the write can be committed either):
    // the write's own error is the one to report.
  }
}
