import { OutboxConfigError, type DatabaseFamily } from '@outboxkit/core';
import type { DataSource } from 'typeorm';

/** TypeORM's `type` option -> the database family whose dialect writes its SQL, and how TypeORM connects to it. */
const FAMILY_OF_TYPE: Readonly<Record<string, { readonly family: DatabaseFamily; readonly sharedConnection: boolean }>> = Object.freeze({
  postgres: { family: 'postgres', sharedConnection: false },
  // TypeORM's MySQL driver serves both types, through mysql2.
  mysql: { family: 'mysql', sharedConnection: false },
  mariadb: { family: 'mysql', sharedConnection: false },
  // TypeORM's SQLite drivers hand every caller the same QueryRunner on one connection.
  'better-sqlite3': { family: 'sqlite', sharedConnection: true },
});

/** What the plugin needs to know about the database a DataSource is configured for. */
export interface DatabaseOfDataSource {
  readonly family: DatabaseFamily;
  /** The DataSource's `type` option, for messages. */
  readonly type: string;
  /**
   * True when every `dataSource.transaction(...)` runs on one shared QueryRunner and connection,
   * so two transactions at once would nest into each other instead of being isolated.
   */
  readonly sharedConnection: boolean;
}

/**
 * The database a TypeORM DataSource is configured for (its `type` option; known before
 * `initialize()`). Throws an `OutboxConfigError` for anything that is not a DataSource, and for
 * databases outboxkit has no dialect or executor for.
 */
export function databaseOf(dataSource: DataSource): DatabaseOfDataSource {
  if (dataSource === null || typeof dataSource !== 'object' || typeof (dataSource as Partial<DataSource>).createQueryRunner !== 'function') {
    throw new OutboxConfigError('dataSource', "expected a TypeORM DataSource (new DataSource({ type: 'postgres', ... }))");
  }
  const type = String(dataSource.options?.type);
  const known = FAMILY_OF_TYPE[type];
  if (known === undefined) {
    throw new OutboxConfigError(
      'dataSource',
      `TypeORM type "${type}" is not supported: outboxkit supports ${Object.keys(FAMILY_OF_TYPE)
        .map((name) => `'${name}'`)
        .join(', ')} ` + '(PostgreSQL through pg, MySQL and MariaDB through mysql2, SQLite through better-sqlite3)',
    );
  }
  return Object.freeze({ ...known, type });
}
