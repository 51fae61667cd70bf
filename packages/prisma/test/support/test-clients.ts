import { generateTestClients } from '../../scripts/generate-test-clients.mjs';

/**
 * The generated clients share one model set (test/schemas/*.prisma), so they have one shape; the
 * SQLite client's type stands for all three in the shared suite.
 */
export type TestPrismaClient = import('../generated/sqlite/client.js').PrismaClient;

/**
 * Makes sure test/generated holds up-to-date clients (a fresh clone has none), then loads
 * them. Imported dynamically because the files may not exist when this module is loaded.
 */
export async function loadTestClients() {
  await generateTestClients();
  const [postgresql, mysql, sqlite] = await Promise.all([
    import('../generated/postgresql/client.js'),
    import('../generated/mysql/client.js'),
    import('../generated/sqlite/client.js'),
  ]);
  return { postgresql: postgresql.PrismaClient, mysql: mysql.PrismaClient, sqlite: sqlite.PrismaClient };
}
