import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '@outboxkit/core';
import { lostShards } from '@outboxkit/testkit';
import { useTempFiles } from './support.js';

const files = useTempFiles();
const WRITER = fileURLToPath(new URL('./fixtures/writer.mjs', import.meta.url));
const EVENTS = 2_000;
const AGGREGATES = 25;
const RELAY = 'relay-under-test';

interface WriterExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runWriter(path: string): Promise<WriterExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path, String(EVENTS), String(AGGREGATES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a writer process and the relay on one SQLite file', () => {
  it('publishes every event exactly once, with no SQLITE_BUSY escaping either side', async () => {
    const { path, db, dialect } = await files.migrated();
    await db.query('CREATE TABLE order_lines (order_id TEXT NOT NULL, line INTEGER NOT NULL)');
    const shards = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
    const leases = await dialect.acquire(db, RELAY, shards, 600_000);
    expect(leases).toHaveLength(SHARD_COUNT);

    let writerExit: WriterExit | undefined;
    const writer = runWriter(path).then((exit) => (writerExit = exit));
    let batchesWhileWriting = 0;
    let published = 0;
    // The relay loop: claim outside a transaction (a WAL read never waits for the writer), then
    // fence + mark in one IMMEDIATE transaction that competes with the writer for the lock.
    while (writerExit === undefined || (await dialect.countPending(db)) > 0) {
      const batch = await dialect.claim(db, shards, 100);
      if (batch.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      const writerWasRunning = writerExit === undefined;
      published += await db.transaction(async (tx) => {
        expect(await lostShards(dialect, tx, RELAY, leases)).toEqual([]);
        return dialect.markPublished(
          tx,
          batch.map((event) => event.id),
          true,
        );
      });
      if (writerWasRunning) batchesWhileWriting++;
    }
    await writer;

    expect(writerExit).toEqual({ code: 0, stdout: `wrote ${EVENTS}\n`, stderr: '' });
    expect(published).toBe(EVENTS);
    expect(batchesWhileWriting).toBeGreaterThan(0); // the two sides really did overlap
    const { rows } = await db.query<{ history: number; distinct_ids: number; pending: number; lines: number }>(
      'SELECT (SELECT count(*) FROM outbox_published) AS history, (SELECT count(DISTINCT id) FROM outbox_published) AS distinct_ids, ' +
        '(SELECT count(*) FROM outbox_events) AS pending, (SELECT count(*) FROM order_lines) AS lines',
    );
    expect(rows[0]).toEqual({ history: EVENTS, distinct_ids: EVENTS, pending: 0, lines: EVENTS });

    // Per aggregate, sequences are 1..n without gaps and follow the writer's order.
    const { rows: perAggregate } = await db.query<{ aggregate_id: string; sequences: string; lines: string }>(
      "SELECT aggregate_id, group_concat(sequence, ',') AS sequences, group_concat(json_extract(payload, '$.line'), ',') AS lines " +
        'FROM (SELECT * FROM outbox_published ORDER BY position) GROUP BY aggregate_id',
    );
    expect(perAggregate).toHaveLength(AGGREGATES);
    for (const aggregate of perAggregate) {
      const sequences = aggregate.sequences.split(',').map(Number);
      const lines = aggregate.lines.split(',').map(Number);
      expect(sequences).toEqual(sequences.map((_, i) => i + 1));
      expect(lines).toEqual([...lines].sort((a, b) => a - b));
      expect(lines.every((line) => `o-${line % AGGREGATES}` === aggregate.aggregate_id)).toBe(true);
    }
  });
});
