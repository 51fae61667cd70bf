// `run --source logical` on a PRIVATE cluster with wal_level=logical (the shared server has
// wal_level=replica): setup, end to end through RabbitMQ with the delivery checker, commit
// order across an open transaction, and the fields Debezium's outbox event router reads from the
// same pgoutput stream. The process-level faults (SIGKILL, standby takeover) are in
// test/faults/logical.faults.ts and its subset.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pgLogical from 'pg-logical-replication';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lsnToNumber, writeEvents, type SqlDatabase, type WrittenEvent } from '@outboxkit/core';
import {
  createPgPool,
  createPostgresDialect,
  pgDatabase,
  pgExecutor,
  postgresLogicalSource,
  readSlotStatus,
  setupLogicalSource,
  resolveLogicalNames,
} from '@outboxkit/postgres';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { Relay } from '@outboxkit/core';
import { countRows, deliverConcurrentWrites, heldTransactionDeliveredAfterOthers, streamingReader, waitUntil } from './support/logical-helpers.js';
import { cli } from './support/operations-helpers.js';
import { ChangeStream, type StreamItem } from '../packages/postgres/src/cdc/change-stream.js';
import { allCommittedDelivered, expectDeliveryOk, serviceUrl, startPostgresCluster, uniqueName, type PostgresCluster } from '@outboxkit/testkit';

describe('PostgreSQL logical-replication source (private cluster, wal_level=logical)', () => {
  let cluster: PostgresCluster;
  let brokerUrl: string;

  beforeAll(async () => {
    cluster = await startPostgresCluster({ logicalReplication: true });
    brokerUrl = await serviceUrl('rabbitmq');
  }, 90_000);

  afterAll(async () => {
    await cluster?.dispose();
  }, 60_000);

  /** A migrated schema on the private cluster, its slot and publication set up. */
  async function outbox() {
    const schema = uniqueName('okt');
    const dialect = createPostgresDialect({ tables: { schema } });
    const database = pgDatabase(createPgPool(cluster.url, { max: 8 }));
    await dialect.migrate(database);
    const names = resolveLogicalNames(dialect.tables);
    const setup = await setupLogicalSource(database, dialect.tables, names);
    return {
      schema,
      dialect,
      database,
      names,
      setup,
      async dispose() {
        await database.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [names.slot]);
        await database.query(`DROP PUBLICATION IF EXISTS "${names.publication}"`);
        await database.query(`DROP SCHEMA "${schema}" CASCADE`);
        await database.close();
      },
    };
  }

  /** A logical reader on `o` publishing to a fresh exchange, and a collector of everything on it. */
  function streaming(o: Awaited<ReturnType<typeof outbox>>, batchSize: number) {
    return streamingReader(
      postgresLogicalSource,
      cluster.url,
      { dialect: o.dialect, database: o.database, wakeSources: [] },
      { brokerUrl, batchSize, dispose: o.dispose },
    );
  }

  async function writeOne(dialect: ReturnType<typeof createPostgresDialect>, database: SqlDatabase, aggregateId: string, n: number): Promise<WrittenEvent> {
    const [event] = await database.transaction((tx) =>
      writeEvents(dialect, tx, { aggregateType: 'account', aggregateId, type: 'account.credited', payload: { n } }),
    );
    return event!;
  }

  it('setup is idempotent: the first run creates the publication and the slot, the second finds them', async () => {
    const o = await outbox();
    try {
      expect(o.setup).toMatchObject({ publicationCreated: true, slotCreated: true });
      const again = await setupLogicalSource(o.database, o.dialect.tables, o.names);
      expect(again).toMatchObject({ publicationCreated: false, slotCreated: false, slot: o.names.slot });
      const { rows } = await o.database.query<{ pubinsert: boolean; pubdelete: boolean; pubupdate: boolean }>(
        'SELECT pubinsert, pubdelete, pubupdate FROM pg_publication WHERE pubname = $1',
        [o.names.publication],
      );
      // The relay's own deletes (settling) and updates (retry bookkeeping) are not events.
      expect(rows).toEqual([{ pubinsert: true, pubdelete: false, pubupdate: false }]);
    } finally {
      await o.dispose();
    }
  });

  it('refuses on a server with wal_level=replica, naming the setting and the fix', async () => {
    const shared = pgDatabase(createPgPool(await serviceUrl('postgres'), { max: 1 }));
    try {
      const level = (await shared.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
      expect(level, 'the shared server is the replica-level one this test needs').not.toBe('logical');
      const tables = createPostgresDialect({ tables: { schema: uniqueName('okt') } }).tables;
      await expect(setupLogicalSource(shared, tables, resolveLogicalNames(tables))).rejects.toThrow(
        /wal_level=replica; logical replication needs wal_level=logical/,
      );
    } finally {
      await shared.close();
    }
  });

  it('end to end through RabbitMQ: 2,000 events over 40 aggregates, written while the reader streams; lost 0, unexpected 0, out of order 0; the table is emptied into history; the slot confirmed past them', async () => {
    const o = await outbox();
    const streamed = await streaming(o, 100);
    const { reader, close } = streamed;
    try {
      const before = lsnToNumber((await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!.confirmedLsn);
      await deliverConcurrentWrites(streamed, (aggregateId, n) => writeOne(o.dialect, o.database, aggregateId, n), { events: 2000, aggregates: 40 });
      await waitUntil(async () => (await countRows(o.database, `"${o.schema}"."outbox_events"`)) === 0);
      expect(await countRows(o.database, `"${o.schema}"."outbox_published"`)).toBe(2000);
      await waitUntil(async () => lsnToNumber((await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!.confirmedLsn) > before);
      expect(reader.health().ownedShards).toHaveLength(64);
      const owners = await o.dialect.status(o.database);
      expect(owners.shardOwners.map((owner) => owner.owner)).toEqual([`logical:${reader.id}`]);
    } finally {
      await close();
    }
  }, 120_000);

  it('commit order: an event written first in a transaction that stays open while 200 others commit is delivered after them, once it commits', async () => {
    const o = await outbox();
    const streamed = await streaming(o, 50);
    const longClient = new pg.Client({ connectionString: cluster.url });
    await longClient.connect();
    try {
      await heldTransactionDeliveredAfterOthers(
        streamed,
        (aggregateId, n) => writeOne(o.dialect, o.database, aggregateId, n),
        async () => {
          await longClient.query('BEGIN');
          const [event] = await writeEvents(o.dialect, pgExecutor(longClient), { aggregateType: 'slow', aggregateId: 's-1', type: 'slow.done', payload: {} });
          return { event: event!, commit: async () => void (await longClient.query('COMMIT')) };
        },
      );
    } finally {
      await longClient.end();
      await streamed.close();
    }
  }, 120_000);

  it('slot lag in seconds: 0 while idle however much other WAL goes by, the wait of the oldest unpublished event while no reader runs, 0 again once published; status shows it', async () => {
    const o = await outbox();
    const { log, collector, reader, close } = await streaming(o, 100);
    const dbFlags = ['--database-url', cluster.url, '--schema', o.schema];
    const slot = async () => (await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!;
    const statusJson = async () => (JSON.parse((await cli(['status', '--json', ...dbFlags])).stdout) as { logicalSlot: { lagSeconds: number } }).logicalSlot;
    try {
      // WAL the slot does not carry: the slot is behind in bytes, not in time.
      await o.database.query(`CREATE TABLE "${o.schema}".noise AS SELECT generate_series(1, 5000) AS n`);
      const idle = await slot();
      expect(idle.lagBytes).toBeGreaterThan(0);
      expect(idle.lagSeconds).toBe(0);
      expect((await statusJson()).lagSeconds).toBe(0);

      const event = await writeOne(o.dialect, o.database, 'a-1', 1);
      log.attempted(event, 'committed');
      const waiting = await waitUntilValue(async () => {
        const { lagSeconds } = await slot();
        return lagSeconds > 0 ? lagSeconds : undefined;
      });
      // No reader: the lag grows, where pg_stat_replication would have no row at all.
      await waitUntil(async () => (await slot()).lagSeconds > waiting);
      expect((await statusJson()).lagSeconds).toBeGreaterThan(waiting);
      expect((await cli(['status', ...dbFlags])).stdout).toMatch(/lag \(time\) +\d+\.\d s: the oldest unpublished event's wait/);

      await reader.start();
      await collector.waitFor(allCommittedDelivered, 60_000);
      expectDeliveryOk(log.check());
      await waitUntil(async () => (await slot()).lagSeconds === 0);
      // The reader's own sample (the metric's source) reads 0 too once it sampled after the settle.
      await waitUntil(async () => reader.slotStatus()?.lagSeconds === 0);
      expect((await statusJson()).lagSeconds).toBe(0);
    } finally {
      await close();
    }
  }, 60_000);

  it('a commit streamed before its row is visible: the settle that finds no row to mark rolls back and looks again, so the slot is never confirmed past an unsettled event (fault-injected: the first mark sees nothing, as in that moment)', async () => {
    const o = await outbox();
    let marks = 0;
    // The first settle runs as it would in the moment between the commit record and the row's
    // visibility: its DELETE matches nothing. Without the second look the event stays pending.
    const dialect = {
      ...o.dialect,
      markPublished: async (tx: Parameters<typeof o.dialect.markPublished>[0], ids: readonly string[], keepHistory: boolean) =>
        ++marks === 1 ? 0 : o.dialect.markPublished(tx, ids, keepHistory),
    };
    const { log, collector, reader, close } = await streaming({ ...o, dialect }, 100);
    try {
      await reader.start();
      const event = await writeOne(o.dialect, o.database, 'v-1', 1);
      log.attempted(event, 'committed');
      await collector.waitFor(allCommittedDelivered, 60_000);
      expectDeliveryOk(log.check());
      await waitUntil(async () => (await countRows(o.database, `"${o.schema}"."outbox_events"`)) === 0);
      expect(await countRows(o.database, `"${o.schema}"."outbox_published"`)).toBe(1);
      expect(marks).toBeGreaterThanOrEqual(2);
    } finally {
      await close();
    }
  }, 60_000);

  it('a batch the broker confirmed whole is settled behind the next publish: while its settle transaction is held open, later events are delivered, and every event is settled and the slot confirmed past them (fault-injected: every settle held until a later event arrives, up to 3 s)', async () => {
    const o = await outbox();
    let settles = 0;
    let overlapped = 0;
    let marked = 0;
    // Each settle waits (a hang guard, not a timing) until an event outside the batches marked so
    // far was delivered. Settled in place, the next batch is published only after the settle
    // commits, so no settle ever sees one and `overlapped` stays 0.
    const dialect = {
      ...o.dialect,
      markPublished: async (tx: Parameters<typeof o.dialect.markPublished>[0], ids: readonly string[], keepHistory: boolean) => {
        settles++;
        const deadline = Date.now() + 3000;
        while (log.distinctDelivered <= marked + ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        if (log.distinctDelivered > marked + ids.length) overlapped++;
        const n = await o.dialect.markPublished(tx, ids, keepHistory);
        marked += n;
        return n;
      },
    };
    const { log, collector, reader, close } = await streaming({ ...o, dialect }, 10);
    try {
      const before = lsnToNumber((await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!.confirmedLsn);
      await reader.start();
      for (let n = 0; n < 60; n++) log.attempted(await writeOne(o.dialect, o.database, `b-${n % 6}`, n), 'committed');
      await collector.waitFor(allCommittedDelivered, 60_000);
      expectDeliveryOk(log.check());
      await waitUntil(async () => (await countRows(o.database, `"${o.schema}"."outbox_events"`)) === 0);
      expect(await countRows(o.database, `"${o.schema}"."outbox_published"`)).toBe(60);
      expect(settles).toBeGreaterThanOrEqual(2);
      expect(overlapped).toBeGreaterThanOrEqual(1);
      await waitUntil(async () => lsnToNumber((await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!.confirmedLsn) > before);
    } finally {
      await close();
    }
  }, 90_000);

  it('expiry through the reader: an event whose TTL ran out before the reader published it is quarantined as expired and not delivered; a fresh one is delivered', async () => {
    const o = await outbox();
    const { log, collector, reader, close } = await streaming(o, 100);
    try {
      const [stale] = await o.database.transaction((tx) =>
        writeEvents(o.dialect, tx, { aggregateType: 'offer', aggregateId: 'o-1', type: 'offer.made', payload: { n: 1 }, ttlMs: 300 }),
      );
      // The reader starts only after the expiry, so its first look at the event is too late.
      await waitUntil(async () => Date.now() > stale!.expiresAt!.getTime() + 50);
      const fresh = await writeOne(o.dialect, o.database, 'o-1', 2);
      log.attempted(fresh, 'committed');
      await reader.start();
      await collector.waitFor(allCommittedDelivered, 60_000);
      await waitUntil(async () => (await countRows(o.database, `"${o.schema}"."outbox_events"`)) === 0);
      // An expired event delivered anyway would count as unexpected: it was never logged as attempted.
      expectDeliveryOk(log.check());
      expect(log.wasDelivered(stale!.id)).toBe(false);
      expect(log.wasDelivered(fresh.id)).toBe(true);
      const { rows } = await o.database.query<{ reason: string; status: string }>(
        `SELECT reason, status FROM "${o.schema}"."outbox_quarantine" WHERE id = $1`,
        [stale!.id],
      );
      expect(rows).toEqual([{ reason: `expired: the event expired at ${stale!.expiresAt!.toISOString()} before it was published`, status: 'dead-lettered' }]);
      expect(await countRows(o.database, `"${o.schema}"."outbox_published"`)).toBe(1);
    } finally {
      await close();
    }
  }, 60_000);

  it('one source per table: polling refuses while a logical reader holds the leases, and the other way round, each naming the fix; status shows the slot', async () => {
    const o = await outbox();
    const dbFlags = ['--database-url', cluster.url, '--schema', o.schema];
    const publisher = createRabbitPublisher({ connection: brokerUrl, exchange: uniqueName('okt_lx') });
    const reader = postgresLogicalSource.reader(
      cluster.url,
      { dialect: o.dialect, database: o.database, wakeSources: [] },
      { publisher, leaseTtlMs: 60_000, poisonPolicy: 'dead-letter' },
    );
    try {
      await reader.start();
      await waitUntil(async () => reader.health().ownedShards.length === 64);
      const polling = await cli(['run', '--once', ...dbFlags], 1);
      expect(polling.stderr).toMatch(
        new RegExp(`a logical-replication reader \\(logical:${reader.id}\\) is publishing this outbox table; stop it before polling`),
      );
      const status = await cli(['status', ...dbFlags]);
      expect(status.stdout).toMatch(new RegExp(`replication slot +${o.names.slot} \\(active\\)`));
      expect(status.stdout).toMatch(/confirmed LSN +\d+\/[0-9A-F]+/);
      const json = JSON.parse((await cli(['status', '--json', ...dbFlags])).stdout) as { logicalSlot: { lagBytes: number; retainedWalBytes: number } };
      expect(json.logicalSlot.lagBytes).toBeGreaterThanOrEqual(0);
      expect(json.logicalSlot.retainedWalBytes).toBeGreaterThan(0);
    } finally {
      await reader.stop();
    }
    const relay = new Relay({ dialect: o.dialect, database: o.database, publisher, relayId: 'poller-1', leaseTtlMs: 60_000 });
    try {
      await relay.start();
      const logical = await cli(['run', '--source', 'logical', ...dbFlags], 1);
      expect(logical.stderr).toMatch(/polling relays \(poller-1\) are publishing this outbox table; stop them/);
    } finally {
      await relay.stop();
      await publisher.close();
      await o.dispose();
    }
  }, 60_000);

  it('--source logical on a database without a change log, and --poison-policy park, are config errors (exit 2) naming the flag', async () => {
    const sqlite = await cli(['run', '--source', 'logical', '--database-url', 'sqlite::memory:'], 2);
    expect(sqlite.stderr).toMatch(
      /--source: 'logical' reads PostgreSQL's logical replication \(postgres:\/\/\) or the MySQL\/MariaDB row binlog .*SQLite has no change log the relay reads, use --source poll/,
    );
    const park = await cli(['run', '--source', 'logical', '--poison-policy', 'park', '--database-url', cluster.url], 2);
    expect(park.stderr).toMatch(/--poison-policy: 'park' is not available with the logical source/);
    // The same from a config file: relay.source selects the source, the error names the key.
    const dir = mkdtempSync(join(tmpdir(), 'okt-logical-'));
    try {
      const file = join(dir, 'relay.yaml');
      writeFileSync(file, `database:\n  url: ${cluster.url}\nrelay:\n  source: logical\n  poisonPolicy: park\n`);
      const fromFile = await cli(['run', '--config', file], 2);
      expect(fromFile.stderr).toMatch(/relay\.poisonPolicy in .*relay\.yaml: 'park' is not available with the logical source/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the slot is confirmed to exactly a commit's end LSN, not a byte past it (a commit record can start right there)", async () => {
    const o = await outbox();
    const items: StreamItem[] = [];
    const stream = new ChangeStream({
      url: cluster.url,
      slot: o.names.slot,
      publication: o.names.publication,
      schema: o.schema,
      table: 'outbox_events',
      onItem: (item) => items.push(item),
      onKeepalive: () => undefined,
    });
    const confirmed = async (): Promise<string> => (await readSlotStatus(o.database, o.names.slot, o.dialect.tables))!.confirmedLsn;
    const initial = await confirmed();
    const running = stream.run();
    try {
      await writeOne(o.dialect, o.database, 'a-1', 1);
      await waitUntil(async () => items.some((item) => item.kind === 'commit'));
      const commit = items.find((item) => item.kind === 'commit');
      if (commit?.kind !== 'commit') throw new Error('no commit');
      stream.confirm(commit.lsn);
      await waitUntil(async () => (await confirmed()) !== initial);
      expect(lsnToNumber(await confirmed())).toBe(lsnToNumber(commit.lsn));
    } finally {
      await stream.stop();
      await running;
      await o.dispose();
    }
  });

  it("Debezium's outbox event router: the insert stream of a pgoutput slot on the publication carries id, aggregatetype, aggregateid, type and payload columns", async () => {
    const o = await outbox();
    // A connector has its own slot on the same publication; this one stands for it.
    const debeziumSlot = `${o.names.slot.slice(0, 50)}_dbz`;
    await o.database.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [debeziumSlot]);
    const service = new pgLogical.LogicalReplicationService({ connectionString: cluster.url }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    const inserts: {
      relation: { schema: string; name: string; columns: { name: string; typeName: string | null; typeOid: number }[] };
      new: Record<string, unknown>;
    }[] = [];
    service.on('data', (_lsn: string, message: { tag: string }) => {
      if (message.tag === 'insert') inserts.push(message as never);
    });
    service.on('error', () => undefined);
    try {
      const written = await writeOne(o.dialect, o.database, 'order-7', 7);
      void service.subscribe(new pgLogical.PgoutputPlugin({ protoVersion: 1, publicationNames: [o.names.publication] }), debeziumSlot).catch(() => undefined);
      await waitUntil(async () => inserts.length === 1);
      const [insert] = inserts;
      expect(insert!.relation).toMatchObject({ schema: o.schema, name: 'outbox_events' });
      // table.field.event.id / .key / .type / .payload and route.by.field map to these columns.
      const row = insert!.new;
      expect(row).toMatchObject({ id: written.id, aggregate_type: 'account', aggregate_id: 'order-7', type: 'account.credited', payload: { n: 7 } });
      const typeOf = (name: string) => insert!.relation.columns.find((column) => column.name === name)?.typeOid;
      // uuid, varchar, varchar, varchar, jsonb: Debezium's router reads the id as a string or UUID and the payload as JSON.
      expect([typeOf('id'), typeOf('aggregate_type'), typeOf('aggregate_id'), typeOf('type'), typeOf('payload')]).toEqual([2950, 1043, 1043, 1043, 3802]);
    } finally {
      await service.destroy();
      await waitUntil(
        async () =>
          !(await o.database.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [debeziumSlot])).rows[0]?.active,
      );
      await o.database.query('SELECT pg_drop_replication_slot($1)', [debeziumSlot]);
      await o.dispose();
    }
  });
});

/** A hang guard, not a timing assertion: the first defined value `probe` returns. */
async function waitUntilValue<T>(probe: () => Promise<T | undefined>, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
