import { providerOf } from './provider-check.js';

/**
 * A failed statement, as the database driver reported it, recovered from Prisma's wrapping.
 * Prisma 7's driver adapters turn a driver error into a `P2010` request error whose
 * `meta.driverAdapterError.cause` keeps only the driver's code as text (`originalCode`). This
 * puts it back where drivers keep it, so a dialect matches it like any driver error:
 *
 * - MySQL / MariaDB: `errno`, the server's error number (1062 for a duplicate key); the
 *   symbolic name (`ER_DUP_ENTRY`) is not kept by Prisma, so `code` stays unset.
 * - PostgreSQL: `code`, the SQLSTATE (`23505`).
 * - SQLite: `code`, the extended result code name (`SQLITE_CONSTRAINT_PRIMARYKEY`).
 *
 * The message is Prisma's (it names the code and the database's message); `cause` is Prisma's error.
 */
export class PrismaDriverError extends Error {
  readonly errno: number | undefined;
  readonly code: string | undefined;

  constructor(prismaError: Error, driver: { errno?: number; code?: string }) {
    super(prismaError.message, { cause: prismaError });
    this.name = 'PrismaDriverError';
    this.errno = driver.errno;
    this.code = driver.code;
  }
}

/** The driver error inside a Prisma error, or the error unchanged when it wraps none (timeouts, closed transactions). */
export function unwrapDriverError(error: unknown, client: unknown): unknown {
  const originalCode = driverCodeOf(error);
  if (originalCode === undefined) return error;
  // The provider decides how to read the code: MySQL's numbers and PostgreSQL's SQLSTATEs can
  // both be all digits. An unknown provider (a Prisma that hides it) keeps the text as `code`.
  if (providerOf(client) === 'mysql' && /^\d+$/.test(originalCode)) {
    return new PrismaDriverError(error as Error, { errno: Number(originalCode) });
  }
  return new PrismaDriverError(error as Error, { code: originalCode });
}

function driverCodeOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta;
  const code = meta?.driverAdapterError?.cause?.originalCode;
  return typeof code === 'string' && code !== '' ? code : undefined;
}
