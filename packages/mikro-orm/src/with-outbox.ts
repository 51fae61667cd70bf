import type { MikroORM, Options } from '@mikro-orm/core';
import { OutboxConfigError, type EventMap, type WriterDialect } from '@outboxkit/core';
import { isOutboxSubscriber, OutboxSubscriber, type OutboxOptions } from './outbox-subscriber.js';
import { assertTransactionsEnabled } from './transaction-checks.js';
import { familyOfDriver } from './transaction-executor.js';

/**
 * Adds the outbox to a MikroORM config: the flush subscriber (explicit `outbox.add` and the
 * change-driven `rules`), a startup check, and the outbox tables in
 * `schemaGenerator.skipTables`, so `orm.schema.updateSchema()` and `migration:create` never
 * drop or alter the tables `outbox-relay migrate` created. `MikroORM.init` rejects with an
 * `OutboxConfigError` when transactions are disabled or the dialect does not match the driver.
 *
 * @example
 * const orm = await MikroORM.init(withOutbox(defineConfig({ clientUrl, entities: [OrderSchema] }), {
 *   dialect: createPostgresDialect(),
 *   rules: [outboxRule({ entity: OrderSchema, on: ['create'], event: (o) => ({ aggregateType: 'order', aggregateId: o.id, type: 'OrderCreated', payload: { total: o.total } }) })],
 * }));
 */
export function withOutbox<Config extends Options<any, any>, Events extends EventMap = EventMap>(config: Config, options: OutboxOptions<Events>): Config {
  if (config === null || typeof config !== 'object') throw new OutboxConfigError('config', 'withOutbox(config, options) needs a MikroORM options object');
  // Settings given explicitly fail here already; defaults resolved by MikroORM are checked at init.
  assertTransactionsEnabled(config);
  const subscribers = [...(config.subscribers ?? [])];
  if (subscribers.some(isOutboxSubscriber)) {
    throw new OutboxConfigError('subscribers', 'the outbox is already registered in this config; a second subscriber would write every event twice');
  }
  const subscriber = new OutboxSubscriber(options);
  const schemaGenerator = config.schemaGenerator ?? {};
  return {
    ...config,
    schemaGenerator: { ...schemaGenerator, skipTables: [...(schemaGenerator.skipTables ?? []), ...outboxTableNames(subscriber.dialect)] },
    subscribers: [...subscribers, subscriber],
    extensions: [...(config.extensions ?? []), { register: (orm: MikroORM) => checkAtStartup(orm, subscriber) }],
  };
}

/**
 * The names the schema generator must skip. MikroORM matches the bare table name when it reads
 * the database's tables (and the bare or `schema.table` name against entities), so the bare
 * name is what protects the tables; a same-named table in another schema is skipped as well.
 */
function outboxTableNames(dialect: WriterDialect): string[] {
  const { schema, names } = dialect.tables;
  const bare = Object.values(names);
  return schema === null ? bare : [...bare, ...bare.map((name) => `${schema}.${name}`)];
}

/** The part of MikroORM's SQL connection that names the raw driver (knex's client). */
interface SqlConnectionLike {
  getKnex?(): { client?: { driverName?: string } };
}

/**
 * Runs in `MikroORM.init`, once the platform and its defaults are known. A failure closes the
 * connection it would otherwise leave open (the init promise rejects, nobody gets the ORM to close).
 */
function checkAtStartup(orm: MikroORM, subscriber: OutboxSubscriber): void {
  try {
    assertTransactionsEnabled({
      disableTransactions: orm.config.get('disableTransactions'),
      implicitTransactions: orm.config.get('implicitTransactions'),
    });
    const registered = [...orm.em.getEventManager().getSubscribers()].filter(isOutboxSubscriber);
    if (registered.length !== 1) {
      throw new OutboxConfigError('subscribers', `expected one outbox subscriber, found ${registered.length}; call withOutbox once per config`);
    }
    const connection = orm.em.getConnection() as SqlConnectionLike;
    familyOfDriver(subscriber.dialect, connection.getKnex?.().client?.driverName, orm.em.getPlatform().constructor.name);
  } catch (error) {
    void orm.close(true).catch(() => undefined);
    throw error;
  }
}
