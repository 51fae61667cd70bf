#!/usr/bin/env node
// Child process for the peer scenario: runs ONE pg-transactional-outbox measurement (a drain or
// one open-loop steady-state run) and prints its figures as one JSON line on stdout. The parent
// (lib/scenarios/peer.mjs runPeerChild) created the PostgreSQL schema (with bench_orders) and the
// RabbitMQ exchange + queue, passes their names as one JSON argument, kills this process after a
// deadline and drops the schema and queue afterwards. Isolating the peer in a process of its own
// means a stall of its listener (see README, "peer") costs a figure, not the whole run.
import { openRabbitBroker as openBroker } from './brokers/rabbitmq.mjs';
import { progress } from './util.mjs';
import { peerDrain, peerSteady } from './scenarios/peer.mjs';

const job = JSON.parse(process.argv[2] ?? '{}');
const ctx = { urls: { rabbitmq: job.rabbitmqUrl }, timeoutMs: job.timeoutMs, log: progress };
const target = { postgres: { schema: job.schema, serverUrl: job.serverUrl } };

let result;
try {
  const broker = await openBroker(job.rabbitmqUrl, 'bench', { existing: job.exchange });
  try {
    if (job.mode === 'drain') result = await peerDrain(ctx, target, broker, job);
    else if (job.mode === 'replication-drain') result = await peerDrain(ctx, target, broker, { ...job, listener: 'replication' });
    else result = await peerSteady(ctx, target, broker, job);
  } finally {
    await broker.close().catch(() => {});
  }
} catch (error) {
  result = { error: error instanceof Error ? error.message : String(error) };
}
// Figures first, then exit explicitly: nothing left open may keep the process alive.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.error ? 1 : 0));
