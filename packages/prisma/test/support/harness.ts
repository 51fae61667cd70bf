import type { Dialect, SqlDatabase } from '@outboxkit/core';
import type { TestPrismaClient } from './test-clients.js';

/** One isolated database (schema, MySQL database or file) with the outbox and business tables. */
export interface PrismaTestDatabase {
  /** A base (unextended) Prisma client on it. */
  readonly prisma: TestPrismaClient;
  /** The dialect matching the client, migrated. */
  readonly dialect: Dialect;
  /** A dialect of another database, for the mismatch check. */
  readonly wrongDialect: Dialect;
  /** A pool on the same tables through the dialect's own driver, for the relay. */
  readonly database: SqlDatabase;
  /** Disconnects everything and drops what setup created. */
  dispose(): Promise<void>;
}

/** What a provider's test file gives the shared suite. */
export interface PrismaHarness {
  readonly name: string;
  setup(): Promise<PrismaTestDatabase>;
}

/** The business tables of test/schemas/*.prisma, as each database spells them (`prisma migrate` cannot run here). */
export const BUSINESS_TABLES = {
  postgresql: (schema: string) => [
    `CREATE TABLE "${schema}".orders (id serial PRIMARY KEY, number text NOT NULL UNIQUE, total integer NOT NULL)`,
    `CREATE TABLE "${schema}".order_lines (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES "${schema}".orders(id) ON DELETE CASCADE, sku text NOT NULL, quantity integer NOT NULL)`,
  ],
  mysql: (database: string) => [
    `CREATE TABLE \`${database}\`.orders (id INT AUTO_INCREMENT PRIMARY KEY, number VARCHAR(191) NOT NULL UNIQUE, total INT NOT NULL) ENGINE=InnoDB`,
    `CREATE TABLE \`${database}\`.order_lines (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(191) NOT NULL, quantity INT NOT NULL, ` +
      `FOREIGN KEY (order_id) REFERENCES \`${database}\`.orders(id) ON DELETE CASCADE) ENGINE=InnoDB`,
  ],
  sqlite: () => [
    'CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, total INTEGER NOT NULL)',
    'CREATE TABLE order_lines (id INTEGER PRIMARY KEY AUTOINCREMENT, order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE, sku TEXT NOT NULL, quantity INTEGER NOT NULL)',
  ],
} as const;
