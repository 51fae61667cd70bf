/**
 * How long the relay's own database sessions may wait for a row lock, and sit idle inside an
 * open transaction, before the database ends the wait (or the session). Derived from the lease
 * TTL: a relay that cannot get a lock within its lease has lost the shard's lease anyway, and a
 * relay paused inside a transaction (SIGSTOP, a long GC or VM pause) must not hold its lease
 * rows, and with them every other relay, for longer than the lease it was given. Each dialect
 * package's relay connector applies them in its database's terms (docs/operations.md).
 */
export interface RelaySessionLimits {
  /** The longest one relay statement waits for a lock (PostgreSQL `lock_timeout`, InnoDB `innodb_lock_wait_timeout`, SQLite's busy wait). */
  readonly lockWaitMs: number;
  /** The longest a relay transaction may stay open between two statements (PostgreSQL `idle_in_transaction_session_timeout`, MariaDB `idle_transaction_timeout`). */
  readonly idleInTransactionMs: number;
}

/** The limits for a relay whose leases last `leaseTtlMs`. */
export function relaySessionLimits(leaseTtlMs: number): RelaySessionLimits {
  const ms = Math.max(1, Math.floor(leaseTtlMs));
  return Object.freeze({ lockWaitMs: ms, idleInTransactionMs: ms });
}
