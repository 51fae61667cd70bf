/** The providers with a test schema in test/schemas. */
export declare const TEST_PROVIDERS: readonly ['postgresql', 'mysql', 'sqlite'];
/** Generates every missing or stale test client into test/generated/<provider>. */
export declare function generateTestClients(): Promise<void>;
