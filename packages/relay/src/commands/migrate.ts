import { openDatabase, relayConnectorFor } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';

export interface MigrateFlags extends DatabaseFlags {
  print?: boolean;
}

/** `outbox-relay migrate`: applies pending migrations, or prints them as plain SQL for a DBA. */
export async function migrateCommand(flags: MigrateFlags, out: (line: string) => void): Promise<void> {
  const url = requireDatabaseUrl(flags);
  const options = { tables: tableOptions(flags) };
  if (flags.print) {
    const dialect = (await relayConnectorFor(url)).dialect(url, options);
    for (const migration of dialect.migrations()) {
      out(`-- outboxkit migration ${migration.version}: ${migration.name} (${dialect.name})`);
      for (const statement of [...migration.statements, dialect.recordMigration(migration)]) out(`${statement.trim().replace(/;$/, '')};\n`);
    }
    return;
  }
  const target = await openDatabase(url, options);
  try {
    const applied = await target.dialect.migrate(target.database);
    out(applied.length === 0 ? `schema is up to date (${target.safeUrl})` : `applied migration(s) ${applied.join(', ')} to ${target.safeUrl}`);
  } finally {
    await target.database.close();
  }
}
