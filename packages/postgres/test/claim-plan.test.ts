import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '@outboxkit/core';
import { createTestSchema, type TestSchema } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
const BACKLOG = 20_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/**
 * Every plan node the claim really ran with: auto_explain logs each statement, nested ones too
 * (the body of the claim function), to this session as JSON. The plan is asserted, never the time.
 * `client`: a session of the caller's (its cached plans kept); a fresh one otherwise.
 */
async function claimPlan(t: TestSchema, limit: number, client?: pg.Client): Promise<PlanNode[]> {
  const session = client ?? new pg.Client({ connectionString: t.url });
  if (client === undefined) await session.connect();
  const plans: PlanNode[] = [];
  const onNotice = (notice: { message?: string }): void => {
    const json = notice.message?.slice(notice.message.indexOf('{'));
    if (json === undefined) return;
    plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
  };
  session.on('notice', onNotice);
  try {
    await session.query(`LOAD 'auto_explain'`);
    for (const setting of [
      'auto_explain.log_min_duration = 0',
      'auto_explain.log_nested_statements = on',
      'auto_explain.log_format = json',
      'client_min_messages = log',
    ]) {
      await session.query(`SET ${setting}`);
    }
    const claimed = await t.dialect.claim(session, ALL_SHARDS, limit);
    expect(claimed).toHaveLength(limit);
    return plans.flatMap(nodesOf);
  } finally {
    session.off('notice', onNotice);
    if (client === undefined) await session.end();
  }
}

/** The plan the claim must have on any table: position order from the primary key, an index per look-up. */
function expectIndexPlan(nodes: PlanNode[]): void {
  expect(nodes.filter((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort')).toEqual([]);
  expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan' || n['Node Type'] === 'Bitmap Heap Scan')).toEqual([]);
  const indexes = nodes.filter((n) => n['Index Name'] !== undefined).map((n) => n['Index Name']);
  expect(indexes).toEqual(expect.arrayContaining(['outbox_events_pkey', 'outbox_events_backoff_idx', 'outbox_quarantine_aggregate_idx']));
  expect(nodes.find((n) => n['Relation Name'] === 'outbox_events' && n['Node Type'] === 'Index Scan')?.['Index Name']).toBe('outbox_events_pkey');
}

/** A backlog in one statement, never analyzed. */
async function fillBacklog(t: TestSchema): Promise<void> {
  await t.pool.query(
    `INSERT INTO ${t.table('events')} (id, aggregate_type, aggregate_id, sequence, shard, type, payload, occurred_at)
     SELECT gen_random_uuid(), 'order', 'o-' || (g % 1000), g / 1000 + 1, (g % 1000) % ${SHARD_COUNT}, 'OrderPlaced', '{"total": 1}', now()
     FROM generate_series(1, ${BACKLOG}) g`,
  );
}

describe('postgres claim plan without planner statistics', () => {
  let t: TestSchema;
  const claimFunction = () => `"${t.schema}"."outbox_events_claim"`;

  beforeAll(async () => {
    t = await createTestSchema();
    // Never analyzed, and autovacuum kept away so it stays that way for the whole test.
    await t.pool.query(`ALTER TABLE ${t.table('events')} SET (autovacuum_enabled = false)`);
    await fillBacklog(t);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('reads the primary key in position order, an index for each look-up, never a sort or a scan of the backlog', async () => {
    const { rows } = await t.pool.query<{ reltuples: number }>(`SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, [t.table('events')]);
    expect(rows[0]!.reltuples).toBeLessThan(0); // no statistics at all
    expectIndexPlan(await claimPlan(t, 500));
  });

  it('keeps that plan in a session whose cached plan was made while the table was empty', async () => {
    // PL/pgSQL keeps the body's plan for the session (migration 5): the plan made at the first
    // polls of an idle relay is the one its claims use once a backlog arrives.
    const empty = await createTestSchema();
    const relaySession = new pg.Client({ connectionString: empty.url });
    await relaySession.connect();
    try {
      await empty.pool.query(`ALTER TABLE ${empty.table('events')} SET (autovacuum_enabled = false)`);
      // More than the five custom plans after which PostgreSQL may switch to the cached generic one.
      for (let poll = 0; poll < 10; poll++) expect(await empty.dialect.claim(relaySession, ALL_SHARDS, 500)).toEqual([]);
      await fillBacklog(empty);
      expectIndexPlan(await claimPlan(empty, 500, relaySession));
    } finally {
      await relaySession.end();
      await empty.drop();
    }
  });

  it('control: the same statement with the planner left to its estimates sorts the whole backlog on this table', async () => {
    // Proves the table above is in the state that misleads the planner, so the first test means
    // something. Without its SET clauses the body is planned from the estimates.
    await t.pool.query(`ALTER FUNCTION ${claimFunction()}(int[], int) RESET ALL`);
    try {
      const nodes = await claimPlan(t, 500);
      expect(nodes.some((n) => n['Node Type'] === 'Sort')).toBe(true);
      expect(nodes.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'outbox_events')).toBe(true);
    } finally {
      await t.pool.query(`ALTER FUNCTION ${claimFunction()}(int[], int) SET enable_seqscan = off SET enable_sort = off`);
    }
  });
});
