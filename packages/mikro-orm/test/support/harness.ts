import type { MikroORM } from '@mikro-orm/core';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import type { OutboxOptions } from '../../src/index.js';

/** One isolated database (a PostgreSQL schema, a MariaDB database or a SQLite file) with the ORM on it. */
export interface OrmDatabase {
  /** MikroORM created with `withOutbox(config, outbox(dialect))`, business tables created. */
  readonly orm: MikroORM;
  readonly dialect: Dialect;
  /** The relay's own pool on the same outbox tables (migrated through it). */
  readonly relayDatabase: SqlDatabase;
  /** Closes the ORM and the pool, drops what setup created. */
  dispose(): Promise<void>;
}

/** How one database gives the shared MikroORM suite an isolated, migrated database. */
export interface OrmHarness {
  readonly name: string;
  setup(outbox: (dialect: Dialect) => OutboxOptions): Promise<OrmDatabase>;
}
