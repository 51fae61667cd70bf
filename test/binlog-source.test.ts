// `run --source logical` on MySQL/MariaDB: the row binlog, on a PRIVATE mariadbd started with
// --log-bin --binlog-format=ROW (the shared server has log_bin OFF, which the refusal test uses):
// setup, end to end through RabbitMQ with the delivery checker, commit order across an open
// transaction, the checkpoint row and purge detection, one source per table. The process-level
// faults (SIGKILL, restart, standby takeover) are in test/faults/logical.faults.ts and its subset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangeLogReader, OutboxConfigError, Relay, writeEvents, type WrittenEvent } from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import {
  binlogEventOf,
  loadZongJi,
  createMysqlDialect,
  createMysqlPool,
  mysqlBinlogSource,
  mysqlChangeLog,
  mysqlDatabase,
  mysqlExecutor,
  readCheckpoint,
  requireRowBinlog,
  resolveCheckpointName,
} from '@outboxkit/mysql';
import { serviceUrl, startMariaDbInstance, uniqueName, type MariaDbInstance } from '@outboxkit/testkit';
import { countRows, deliverConcurrentWrites, heldTransactionDeliveredAfterOthers, streamingReader, waitUntil } from './support/logical-helpers.js';
import { cli } from './support/operations-helpers.js';

describe('MariaDB binlog source (private mariadbd, --log-bin --binlog-format=ROW)', () => {
  let maria: MariaDbInstance;
  let brokerUrl: string;

  beforeAll(async () => {
    maria = await startMariaDbInstance({ binlog: { serverId: 7 } });
    brokerUrl = await serviceUrl('rabbitmq');
  }, 90_000);

  afterAll(async () => {
    await maria?.dispose();
  }, 60_000);

  /** A migrated database on the private server with its checkpoint set up. */
  async function outbox() {
    const schema = uniqueName('okt');
    const admin = mysqlDatabase(createMysqlPool(maria.url, { connectionLimit: 1 }));
    await admin.query(`CREATE DATABASE \`${schema}\``);
    await admin.close();
    const dialect = createMysqlDialect({ tables: { schema } });
    const database = mysqlDatabase(createMysqlPool(maria.url, { connectionLimit: 8 }));
    await dialect.migrate(database);
    const dbFlags = ['--database-url', maria.url, '--schema', schema];
    const setup = await cli(['setup-logical', ...dbFlags]);
    const name = resolveCheckpointName(dialect.tables, 'test');
    return {
      schema,
      dialect,
      database,
      dbFlags,
      name,
      setup,
      async dispose() {
        await database.query(`DROP DATABASE \`${schema}\``);
        await database.close();
      },
    };
  }

  /** A binlog reader on `o` publishing to a fresh exchange, and a collector of everything on it. */
  function streaming(o: Awaited<ReturnType<typeof outbox>>, batchSize: number) {
    return streamingReader(
      mysqlBinlogSource,
      maria.url,
      { dialect: o.dialect, database: o.database, wakeSources: [] },
      { brokerUrl, batchSize, dispose: o.dispose },
    );
  }

  async function writeOne(o: Awaited<ReturnType<typeof outbox>>, aggregateId: string, n: number): Promise<WrittenEvent> {
    const [event] = await o.database.transaction((tx) =>
      writeEvents(o.dialect, tx, { aggregateType: 'account', aggregateId, type: 'account.credited', payload: { n, text: 'é'.repeat(n % 5) } }),
    );
    return event!;
  }

  it('setup-logical refuses the shared server (log_bin=OFF), naming the setting and the fix', async () => {
    const shared = await serviceUrl('mysql');
    const refused = await cli(['setup-logical', '--database-url', shared], 1);
    expect(refused.stderr).toMatch(
      /the server runs with log_bin=OFF; the binlog source needs log_bin=ON: start mariadbd with --log-bin --server-id=<n> --binlog-format=ROW/,
    );
  });

  it('setup-logical creates the checkpoint at the current binlog position, then finds it; a user without replication grants is refused with the GRANT', async () => {
    const o = await outbox();
    try {
      expect(o.setup.stdout).toMatch(new RegExp(`binlog checkpoint ${o.name}: created at binlog\\.\\d+:\\d+`));
      const again = await cli(['setup-logical', ...o.dbFlags]);
      expect(again.stdout).toMatch(new RegExp(`binlog checkpoint ${o.name}: exists at binlog\\.\\d+:\\d+`));
      const publication = await cli(['setup-logical', '--publication', 'p1', ...o.dbFlags], 2);
      expect(publication.stderr).toMatch(/--publication: names a PostgreSQL publication; the MySQL\/MariaDB binlog source has none/);
      const user = uniqueName('okt_u').slice(0, 32);
      await o.database.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
      await o.database.query(`GRANT ALL ON \`${o.schema}\`.* TO '${user}'@'%'`);
      const limited = mysqlDatabase(createMysqlPool(`mysql://${user}:pw@127.0.0.1:${maria.port}/${o.schema}`, { connectionLimit: 1 }));
      try {
        await expect(requireRowBinlog(limited)).rejects.toThrow(
          /lacks REPLICATION SLAVE and REPLICATION CLIENT.*GRANT REPLICATION SLAVE, REPLICATION CLIENT ON \*\.\* TO/,
        );
      } finally {
        await limited.close();
        await o.database.query(`DROP USER '${user}'@'%'`);
      }
    } finally {
      await o.dispose();
    }
  });

  it('@vlasky/zongji is loaded only by the binlog source; without it, the source is a config error with the install line', async () => {
    const error = await loadZongJi(() => import('@vlasky/zongji-absent-for-this-test' as string)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as Error).message).toMatch(
      /--source: 'logical' on MySQL\/MariaDB reads the binary log with @vlasky\/zongji, which is not installed: npm install @vlasky\/zongji@0\.9\.0/,
    );
    expect(typeof (await loadZongJi())).toBe('function');
  });

  it('decodes the events row from the binlog as the claim does: JSON payload and headers, DATETIME(3) in UTC, expires_at, big sequences', () => {
    const occurred = new Date('2026-12-02T10:11:12.345Z');
    const event = binlogEventOf({
      position: 5,
      id: '018f0000-0000-7000-8000-000000000000',
      aggregate_type: 'order',
      aggregate_id: 'o-1',
      sequence: 9_007_199_254_740_991,
      shard: 12,
      type: 'order.placed',
      destination: null,
      payload: '{"total":12.5,"items":["a"]}',
      headers: '{"traceparent":"00-abc-def-01"}',
      occurred_at: occurred,
      attempts: 0,
      expires_at: null,
    });
    expect(event).toMatchObject({ payload: { total: 12.5, items: ['a'] }, headers: { traceparent: '00-abc-def-01' }, occurredAt: occurred, expiresAt: null });
    expect(event.sequence).toBe(9_007_199_254_740_991);
    expect(binlogEventOf({ ...{ id: 'x', shard: 1, sequence: 1, position: 1, payload: '1', headers: '{}' }, expires_at: occurred }).expiresAt).toEqual(
      occurred,
    );
  });

  it('end to end through RabbitMQ: 2,000 events over 40 aggregates, written while the reader streams; lost 0, unexpected 0, out of order 0; the table is emptied into history; the checkpoint moved past them', async () => {
    const o = await outbox();
    const streamed = await streaming(o, 100);
    const { reader, close } = streamed;
    try {
      const before = (await readCheckpoint(o.database, o.dialect.tables, o.name))!;
      await deliverConcurrentWrites(streamed, (aggregateId, n) => writeOne(o, aggregateId, n), { events: 2000, aggregates: 40 });
      await waitUntil(async () => (await countRows(o.database, `\`${o.schema}\`.outbox_events`)) === 0);
      expect(await countRows(o.database, `\`${o.schema}\`.outbox_published`)).toBe(2000);
      const after = (await readCheckpoint(o.database, o.dialect.tables, o.name))!;
      expect(`${after.file}:${after.position}`).not.toBe(`${before.file}:${before.position}`);
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
    const pool = createMysqlPool(maria.url, { connectionLimit: 1 });
    const connection = await pool.getConnection();
    try {
      await heldTransactionDeliveredAfterOthers(
        streamed,
        (aggregateId, n) => writeOne(o, aggregateId, n),
        async () => {
          await connection.query('START TRANSACTION');
          const [event] = await writeEvents(o.dialect, mysqlExecutor(connection), {
            aggregateType: 'slow',
            aggregateId: 's-1',
            type: 'slow.done',
            payload: {},
          });
          return { event: event!, commit: async () => void (await connection.query('COMMIT')) };
        },
      );
    } finally {
      connection.release();
      await pool.end();
      await streamed.close();
    }
  }, 120_000);

  it('one source per table: polling refuses while the binlog reader holds the leases, and the other way round; status shows the checkpoint and its lag', async () => {
    const o = await outbox();
    const { reader, publisher, close } = await streaming(o, 100);
    try {
      await reader.start();
      await waitUntil(async () => reader.health().ownedShards.length === 64);
      const polling = await cli(['run', '--once', ...o.dbFlags], 1);
      expect(polling.stderr).toMatch(
        new RegExp(`a logical-replication reader \\(logical:${reader.id}\\) is publishing this outbox table; stop it before polling`),
      );
      const status = await cli(['status', ...o.dbFlags]);
      expect(status.stdout).toMatch(new RegExp(`binlog checkpoint +${o.name} \\(a binlog dump connection is open\\)`));
      expect(status.stdout).toMatch(/checkpoint +binlog\.\d+:\d+/);
      expect(status.stdout).toMatch(/lag +\d+ byte\(s\) of binlog behind the current position/);
      const json = JSON.parse((await cli(['status', '--json', ...o.dbFlags])).stdout) as { logicalSlot: { lagBytes: number; retainedWalBytes: number } };
      expect(json.logicalSlot.lagBytes).toBeGreaterThanOrEqual(0);
      expect(json.logicalSlot.retainedWalBytes).toBeGreaterThan(0);
      await reader.stop();
      const relay = new Relay({ dialect: o.dialect, database: o.database, publisher, relayId: 'poller-1', leaseTtlMs: 60_000 });
      try {
        await relay.start();
        const logical = await cli(['run', '--source', 'logical', ...o.dbFlags], 1);
        expect(logical.stderr).toMatch(/polling relays \(poller-1\) are publishing this outbox table; stop them/);
      } finally {
        await relay.stop();
      }
    } finally {
      await close();
    }
  }, 60_000);

  it("a quiet outbox in a busy database: the checkpoint follows other tables' commits (fenced), so it does not stay in a binlog file that gets purged", async () => {
    const o = await outbox();
    const publisher = createRabbitPublisher({ connection: brokerUrl, exchange: uniqueName('okt_bx') });
    const reader = new ChangeLogReader({
      publisher,
      leaseTtlMs: 3000,
      poisonPolicy: 'dead-letter',
      dialect: o.dialect,
      database: o.database,
      log: mysqlChangeLog({ url: maria.url, dialect: o.dialect, database: o.database, name: o.name, idleCheckpointMs: 100 }),
    });
    try {
      await o.database.query(`CREATE TABLE \`${o.schema}\`.orders (id INT PRIMARY KEY)`);
      await reader.start();
      await waitUntil(async () => reader.health().ownedShards.length === 64);
      const before = (await readCheckpoint(o.database, o.dialect.tables, o.name))!;
      await o.database.query('FLUSH BINARY LOGS');
      await o.database.query(`INSERT INTO \`${o.schema}\`.orders VALUES (1)`);
      await waitUntil(async () => (await readCheckpoint(o.database, o.dialect.tables, o.name))!.file !== before.file);
      const after = (await readCheckpoint(o.database, o.dialect.tables, o.name))!;
      expect(Number(after.file.split('.').pop())).toBeGreaterThan(Number(before.file.split('.').pop()));
    } finally {
      await reader.stop();
      await publisher.close();
      await o.dispose();
    }
  }, 60_000);

  it('a checkpoint in a purged binlog file is refused at start with the fix, instead of skipping the events in it', async () => {
    const o = await outbox();
    try {
      await o.database.query(`UPDATE \`${o.schema}\`.outbox_binlog_checkpoints SET binlog_file = 'binlog.000000', binlog_position = 4 WHERE name = ?`, [
        o.name,
      ]);
      const refused = await cli(['run', '--source', 'logical', '--broker-url', brokerUrl, ...o.dbFlags], 1);
      expect(refused.stderr).toMatch(
        /binlog checkpoint \S+ is at binlog\.000000:4, but the server no longer has binlog\.000000 .*binary logs were purged past the checkpoint.*outbox-relay run --source poll --once/,
      );
    } finally {
      await o.dispose();
    }
  }, 60_000);
});
