// Command-line options and the workload sizes of a full and a quick run.
import { BROKERS } from './brokers/index.mjs';
// Sized so that a full run stays under 30 minutes on a busy 2-core machine (estimate from the
// per-step costs of a quick run: see README.md, "How long a run takes").
export const FULL = Object.freeze({
  // Scenario "drain": each size on each database (the JSON's perDatabase is the largest).
  drainSizes: [20_000, 100_000],
  // The drain the steady-state scenarios take their base rate from, when "drain" did not run.
  drainEvents: 10_000,
  aggregates: 1000,
  naiveEvents: 1000,
  steadyFractions: [0.25, 0.5, 0.75],
  steadySeconds: 5,
  historyRows: 1_000_000,
  historyDrainEvents: 2000,
  producerSeconds: 3,
  producerConcurrency: 8,
  orderingEvents: 1000,
  peerEvents: 1000,
  peerSteadySeconds: 5,
  calibrationSeconds: 2,
  // Scenario "brokers": enough events that the drain lasts seconds, not the setup; as many
  // aggregates as the full drain, so a batch of 500 holds 500 chains and the relay can keep its
  // 128 publishes in flight, as the raw client does.
  brokerEvents: 20_000,
  brokerAggregates: 1000,
  brokerSteadySeconds: 5,
  // Scenario "tenants": the backlog of the one busy tenant beside the trickle tenants (issue 21).
  tenantBacklogEvents: 100_000,
  trickleTenants: 50,
  trickleSeconds: 5,
  // Scenario "cdc": the drain of each source and of the peer's logical-replication listener, and
  // the open-loop window per load level.
  cdcEvents: 10_000,
  cdcSteadySeconds: 5,
  cdcCapacitySeconds: 1,
});

export const QUICK = Object.freeze({
  ...FULL,
  // Large enough that the fixed costs of a drain (set-up, first claim, the last confirms) do not dominate.
  drainSizes: [5000],
  drainEvents: 500,
  aggregates: 100,
  naiveEvents: 100,
  steadyFractions: [0.5],
  steadySeconds: 0.75,
  historyRows: 20_000,
  historyDrainEvents: 150,
  producerSeconds: 0.3,
  orderingEvents: 80,
  peerEvents: 80,
  peerSteadySeconds: 2.5,
  calibrationSeconds: 0.5,
  brokerEvents: 5000,
  brokerSteadySeconds: 1.5,
  tenantBacklogEvents: 10_000,
  trickleSeconds: 2,
  cdcEvents: 1000,
  cdcSteadySeconds: 1,
  cdcCapacitySeconds: 0.5,
});

export const DATABASES = ['postgres', 'mysql', 'sqlite'];

const USAGE = `usage: node benchmarks/run.mjs [--quick] [--only drain,naive,steady,history,producer,ordering,peer,brokers,tenants,cdc]
       [--databases postgres,mysql,sqlite] [--brokers rabbitmq,nats,redis,sqs,sns,pubsub] [--runs N] [--events N] [--out DIR]`;

/** Parses argv; throws with the usage on anything unknown. */
export function parseArgs(argv, scenarioIds) {
  const options = { quick: false, only: [...scenarioIds], databases: [...DATABASES], brokers: [...BROKERS], runs: 3, events: undefined, out: undefined };
  const value = (i, name) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only') options.only = list(value(i++, arg), scenarioIds, arg);
    else if (arg === '--databases') options.databases = list(value(i++, arg), DATABASES, arg);
    else if (arg === '--brokers') options.brokers = list(value(i++, arg), BROKERS, arg);
    else if (arg === '--runs') options.runs = positive(value(i++, arg), arg);
    else if (arg === '--events') options.events = positive(value(i++, arg), arg);
    else if (arg === '--out') options.out = value(i++, arg);
    else if (arg === '--help' || arg === '-h') throw Object.assign(new Error(USAGE), { usage: true });
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  const base = options.quick ? QUICK : FULL;
  const sizes = { ...base };
  if (options.events !== undefined) {
    for (const key of ['drainEvents', 'naiveEvents', 'historyDrainEvents', 'orderingEvents', 'peerEvents', 'brokerEvents', 'tenantBacklogEvents', 'cdcEvents'])
      sizes[key] = options.events;
    sizes.drainSizes = [options.events];
  }
  return { ...options, sizes };
}

function list(text, allowed, name) {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item));
  if (items.length === 0 || unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ') || '(empty)'}; choose from ${allowed.join(', ')}`);
  return allowed.filter((item) => items.includes(item));
}

function positive(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}
