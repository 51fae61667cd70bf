import type { QuarantineStatements, QuarantineStatus } from '../dialect.js';

/**
 * The SQL text of a dialect's three quarantine statements, with the parameters core binds, in
 * this order, on every database.
 */
export interface QuarantineSql {
  /** params: id. Selects the row's `status`, locked where the database has row locks. */
  readonly lockQuarantined: string;
  /** params: ignore expiry (1 clears expires_at, 0 keeps it), id. Copies the row back into the pending table at its original position. */
  readonly restoreQuarantined: string;
  /** params: status, resolved by, note, id. */
  readonly markQuarantineResolved: string;
}

/**
 * A dialect's {@link QuarantineStatements} from its SQL text: the statements differ between
 * databases, running them does not.
 *
 * @example
 * return { ...sqlQuarantineStatements(sql), currentTime, readHistory, ... };
 */
export function sqlQuarantineStatements(sql: QuarantineSql): QuarantineStatements {
  return {
    async lockQuarantined(tx, id) {
      return (await tx.query<{ status: QuarantineStatus }>(sql.lockQuarantined, [id])).rows[0]?.status;
    },
    async restoreQuarantined(tx, id, ignoreExpiry) {
      // A number, not a boolean: SQLite's drivers bind no booleans.
      await tx.query(sql.restoreQuarantined, [ignoreExpiry ? 1 : 0, id]);
    },
    async markQuarantineResolved(tx, id, status, resolution) {
      await tx.query(sql.markQuarantineResolved, [status, resolution.by, resolution.note, id]);
    },
  };
}
