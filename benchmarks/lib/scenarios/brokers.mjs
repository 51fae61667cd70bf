// Scenario "brokers": for each broker, the drain and the steady state of the relay against that
// broker's own client sending the same messages, in the same run, on one database (SQLite: a file
// in the same process, so the figures are about the broker and the publisher, not a database
// server sharing the cores). The cloud brokers (SQS, SNS, Pub/Sub) run on a local emulator the
// scenario starts for them: their figures are the relay's overhead on that emulator, not the cloud's speed.
import { BROKER_NAMES, EMULATORS, withBrokerServer } from '../brokers/index.mjs';
import { outboxkitSystem, openLoop, rawSystem, relayDrainRun, repeat, steadyPoint, summarizeRuns, withSetup } from './common.mjs';

const DATABASE = 'sqlite';

/** Runs `systems` once each per run, in an order that alternates between runs, at the same rate. */
async function alternating(ctx, label, systems, measure) {
  const byName = Object.fromEntries(Object.keys(systems).map((name) => [name, []]));
  await repeat(ctx, label, async (run) => {
    const names = Object.keys(systems);
    for (const name of run % 2 === 1 ? names : names.reverse()) byName[name].push(await measure(systems[name]));
  });
  return byName;
}

/** Drain and steady state of one broker, relay and raw client; `ctx.urls` names its server. */
async function measureBroker(ctx, kind) {
  const { brokerEvents: count, brokerAggregates: aggregates, brokerSteadySeconds: seconds } = ctx.sizes;
  const name = BROKER_NAMES[kind];
  const runs = await repeat(ctx, `${name} drain, relay and raw client`, (run) =>
    relayDrainRun(ctx, DATABASE, { count, aggregates, raw: true, rawFirst: run % 2 === 0, broker: kind }),
  );
  for (const run of runs) run.ratio = run.rate / run.rawRate;
  const drain = summarizeRuns(runs);
  const steady = [];
  for (const fraction of ctx.sizes.steadyFractions) {
    const rate = Math.max(1, drain.rate.median * fraction);
    const byName = await withSetup(
      ctx,
      DATABASE,
      (target, broker) =>
        alternating(
          ctx,
          `${name} steady at ${Math.round(fraction * 100)}% (${Math.round(rate)}/s), relay and raw client`,
          { relay: () => outboxkitSystem(ctx, target, broker, true, aggregates), raw: () => rawSystem(broker, aggregates) },
          (system) => openLoop(ctx, broker, system(), { rate, seconds }),
        ),
      { broker: kind },
    );
    const relay = steadyPoint(fraction, rate, byName.relay, 1);
    const raw = steadyPoint(fraction, rate, byName.raw, 1);
    const ratio = (p) => relay.percentiles[p].median / raw.percentiles[p].median;
    steady.push({ fraction, targetRate: rate, relay, raw, p50Ratio: ratio('p50'), p99Ratio: ratio('p99') });
  }
  return { drain, steady };
}

export const brokers = {
  id: 'brokers',
  title: "Brokers: relay vs the broker's own client (RabbitMQ, NATS JetStream, Redis Streams; SQS, SNS, Pub/Sub on emulators)",
  describe: (s) =>
    `Per broker, on SQLite. Drain: ${s.brokerEvents} pending events over ${s.brokerAggregates} aggregates, published by the relay (\`drain()\`) ` +
    "and, on the same destination in the same run, the same messages (the wire format of the broker's publisher: properties, headers, id) " +
    "sent with the broker's own client (rabbitmq-client confirms, @nats-io/jetstream publish awaiting the PubAck, node-redis XADD, " +
    '@aws-sdk SendMessage to an SQS FIFO queue and Publish to an SNS FIFO topic with a FIFO queue subscribed (raw delivery), one request per message, ' +
    '@google-cloud/pubsub publishMessage with the ordering key to a topic with an ordered subscription) with 128 awaiting an acknowledgement at once, ' +
    "like the relay's `maxInFlight`; events/s until every event is consumed. The order of the two alternates between runs. " +
    `Steady state: ${s.steadyFractions.map((f) => `${f * 100}%`).join(', ')} of that broker's relay drain rate for ${s.brokerSteadySeconds} s, open loop, for both: ` +
    'the relay (producers commit the event with an order row, wake-up by the in-process signal) with latency COMMIT -> consumer, and the raw client with latency send -> consumer. ' +
    'Amazon SQS, Amazon SNS and Google Pub/Sub run on a local emulator the benchmark starts for them (fauxqs; the Google Cloud Pub/Sub emulator), not on the cloud: ' +
    "their figures measure the relay's overhead relative to the official client on the same emulator, not AWS's or Google's speed.",
  async run(ctx) {
    const perBroker = {};
    for (const kind of ctx.brokers) perBroker[kind] = await withBrokerServer(kind, ctx.urls, (urls) => measureBroker({ ...ctx, urls }, kind));
    const emulators = Object.fromEntries(ctx.brokers.filter((kind) => kind in EMULATORS).map((kind) => [kind, EMULATORS[kind]]));
    return { database: DATABASE, perBroker, emulators };
  },
};
