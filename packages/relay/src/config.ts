import { OutboxConfigError, validateIdentifier, type TableOptions } from '@outboxkit/core';

/** The environment variables the relay reads; flags override them. */
export const ENV = {
  databaseUrl: 'OUTBOX_DATABASE_URL',
  brokerUrl: 'OUTBOX_BROKER_URL',
  exchange: 'OUTBOX_EXCHANGE',
  schema: 'OUTBOX_SCHEMA',
  tablePrefix: 'OUTBOX_TABLE_PREFIX',
  logLevel: 'OUTBOX_LOG_LEVEL',
} as const;

export const DEFAULT_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface DatabaseFlags {
  databaseUrl?: string;
  schema?: string;
  tablePrefix?: string;
}

export function requireDatabaseUrl(flags: DatabaseFlags): string {
  const url = flags.databaseUrl;
  if (!url) {
    throw new OutboxConfigError(
      '--database-url',
      `is required (or set ${ENV.databaseUrl}, or database.url in the --config file), e.g. postgres://user@host:5432/app, mysql://user@host:3306/app or sqlite:./app.db`,
    );
  }
  return url;
}

/** The table options of `--schema` and `--table-prefix`, checked here so a mistake names the flag. */
export function tableOptions(flags: DatabaseFlags): TableOptions {
  return {
    ...(flags.schema ? { schema: validateIdentifier(flags.schema, '--schema') } : {}),
    ...(flags.tablePrefix !== undefined ? { prefix: flags.tablePrefix === '' ? '' : validateIdentifier(flags.tablePrefix, '--table-prefix') } : {}),
  };
}

/** Parses an integer flag; the message names the flag. */
export function intFlag(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new OutboxConfigError(name, `must be an integer, got ${JSON.stringify(value)}`);
    return n;
  };
}
