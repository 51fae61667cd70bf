import {
  FairScheduler,
  localCommits,
  OutboxSchemaMissingError,
  RELAY_DEFAULTS,
  redactUrl,
  relaySessionLimits,
  secretsOf,
  type CycleResult,
  type OutboxStatus,
  type RelayObserver,
} from '@outboxkit/core';
import type { Logger } from 'pino';
import { createBrokerPublisher } from '../brokers.js';
import { requireDatabaseUrl, tableOptions } from '../config.js';
import { withFaultHooks } from '../fault-hooks.js';
import type { RelayObservability } from '../observability/index.js';
import { createTenantMetrics, sumStatuses, type TenantMetrics } from '../observability/tenant-metrics.js';
import { startWhenDatabaseAnswers } from '../start-retry.js';
import { tenantLimits, tenantSelection } from '../tenants/tenant-options.js';
import { TenantRelays } from '../tenants/tenant-relays.js';
import { openTenantSpace, tenancyOf, type TenantSpace } from '../tenants/tenant-space.js';
import { assertDrained, metricsFlags, relayFor, relayOptionsOf, startRunObservability, untilAborted, type RunFlags } from './run.js';

/**
 * `outbox-relay run --tenants a,b` / `--tenant-pattern 'tenant_*'`: one relay per tenant (its
 * own tables, leases and order), one publisher and one database pool for the process, and a
 * {@link FairScheduler} bounding the claim-publish cycles at once across tenants
 * (`--tenant-concurrency`), so one tenant's backlog does not starve the others. The pattern is
 * re-scanned every `--tenant-rescan-interval-ms`.
 */
export async function runTenantsCommand(flags: RunFlags, logger: Logger, signal: AbortSignal): Promise<CycleResult | undefined> {
  const metrics = metricsFlags(flags);
  const databaseUrl = requireDatabaseUrl(flags);
  const selection = tenantSelection(flags, await tenancyOf(databaseUrl))!;
  const limits = tenantLimits(flags);
  const tables = tableOptions(flags);
  const publisher = await createBrokerPublisher(flags);
  const sessionLimits = relaySessionLimits(flags.leaseTtlMs ?? RELAY_DEFAULTS.leaseTtlMs);
  let space: TenantSpace;
  try {
    space = await openTenantSpace(databaseUrl, selection, { tables, listen: !flags.once, sessionLimits });
  } catch (error) {
    await publisher.close();
    throw error;
  }
  const scheduler = new FairScheduler({ maxConcurrent: limits.concurrency });
  let observability: RelayObservability | undefined;
  let tenantMetrics: TenantMetrics | undefined;
  let relays: TenantRelays | undefined;
  try {
    observability = await startRunObservability(flags, metrics, logger, { readStatus: () => readTenantStatuses(relays, tenantMetrics) });
    if (observability) tenantMetrics = createTenantMetrics(observability.metrics.registry, limits.labelMax);
    const tenantRelays = new TenantRelays({
      space,
      rescanIntervalMs: limits.rescanIntervalMs,
      migrate: flags.migrate === true,
      logger,
      onTenants: (names) => tenantMetrics?.setTenants(names),
      relayFor: (location) =>
        relayFor({
          ...relayOptionsOf(flags),
          ...(flags.pollIntervalMs !== undefined ? { pollIntervalMs: flags.pollIntervalMs } : {}),
          dialect: withFaultHooks(location.dialect),
          database: location.database,
          publisher,
          logger: logger.child({ tenant: location.name }),
          wakeSources: [localCommits, ...location.wakeSources],
          scheduler: scheduler.lane(location.name),
          observer: rescanWhenTablesVanish(
            observability ? tenantMetrics!.observerFor(location.name, observability.metrics.observer) : {},
            () => void tenantRelays.rescan().catch(() => {}),
          ),
        }),
    });
    relays = tenantRelays;
    logger.info(
      { database: redactUrl(databaseUrl), tenants: selection.names, pattern: flags.tenantPattern, concurrency: limits.concurrency },
      'multi-tenant relay starting',
    );
    if (flags.once) {
      const result = await tenantRelays.drain();
      logger.info(result, 'drain finished');
      assertDrained(result);
      return result;
    }
    if (!(await startWhenDatabaseAnswers(() => tenantRelays.start(), logger, signal, secretsOf(databaseUrl)))) return;
    observability?.bindRelay(() => tenantRelays.health());
    logger.info({ tenants: tenantRelays.tenants }, 'tenants served');
    await untilAborted(signal);
    logger.info({ tenants: tenantRelays.tenants.length }, 'stopping: finishing the in-flight batches');
    await tenantRelays.stop();
  } finally {
    await relays?.stop();
    await observability?.close();
    await publisher.close();
    await space.close();
  }
}

/**
 * A tenant whose tables vanish under its relay (the tenant was dropped) is looked at again at
 * once instead of failing every cycle until the next scan; the scan releases it.
 */
function rescanWhenTablesVanish(observer: RelayObserver, rescan: () => void): RelayObserver {
  return {
    ...observer,
    error(phase, error) {
      observer.error?.(phase, error);
      if (error instanceof OutboxSchemaMissingError) rescan();
    },
  };
}

/** Every served tenant's status, one after another (the sampler's interval bounds the load), and their sum. */
async function readTenantStatuses(relays: TenantRelays | undefined, metrics: TenantMetrics | undefined): Promise<OutboxStatus> {
  const statuses: OutboxStatus[] = [];
  for (const [tenant, location] of relays?.locations() ?? []) {
    const status = await location.dialect.status(location.database);
    metrics?.recordStatus(tenant, status);
    statuses.push(status);
  }
  return sumStatuses(statuses);
}
