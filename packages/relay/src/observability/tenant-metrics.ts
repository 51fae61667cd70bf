import type { OutboxStatus, RelayObserver } from '@outboxkit/core';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The metrics of a process serving many tenants, beside the usual ones (which add up over all
 * tenants). Tenant names become label values only while there are at most `labelMax` tenants:
 * above that, the per-tenant series are dropped and only `outbox_tenants` and the totals remain,
 * so a pattern matching thousands of schemas cannot explode the series count.
 */
export interface TenantMetrics {
  /** The observer of one tenant's relay: the process-wide observer, plus its tenant's counter. */
  observerFor(tenant: string, shared: RelayObserver): RelayObserver;
  /** The tenants served now (after each scan). */
  setTenants(names: readonly string[]): void;
  /** One tenant's status sample. */
  recordStatus(tenant: string, status: OutboxStatus): void;
}

export function createTenantMetrics(registry: Registry, labelMax: number): TenantMetrics {
  const registers = [registry];
  const count = new Gauge({ name: 'outbox_tenants', help: 'Tenants (schemas, databases or files) this relay process serves.', registers });
  const published = new Counter({
    name: 'outbox_tenant_published_total',
    help: 'Events confirmed and marked published, per tenant (only while the tenant count is at most --tenant-label-max).',
    labelNames: ['tenant'] as const,
    registers,
  });
  const backlog = new Gauge({
    name: 'outbox_tenant_backlog_events',
    help: 'Pending events of one tenant per the last status sample (only while the tenant count is at most --tenant-label-max).',
    labelNames: ['tenant'] as const,
    registers,
  });
  const oldestAge = new Gauge({
    name: 'outbox_tenant_oldest_pending_age_seconds',
    help: "Age of one tenant's oldest pending event per the last status sample; 0 when nothing is pending (only while the tenant count is at most --tenant-label-max).",
    labelNames: ['tenant'] as const,
    registers,
  });
  const labelled = [published, backlog, oldestAge];
  let labels = true;
  let labelledTenants: readonly string[] = [];

  return {
    observerFor(tenant, shared) {
      return {
        ...shared,
        acked(n) {
          shared.acked?.(n);
          if (labels) published.inc({ tenant }, n);
        },
      };
    },
    setTenants(names) {
      count.set(names.length);
      labels = names.length <= labelMax;
      // Series of dropped tenants (or all of them, above the bound) go, instead of lingering stale.
      for (const metric of labelled) {
        if (!labels) metric.reset();
        else for (const tenant of labelledTenants) if (!names.includes(tenant)) metric.remove({ tenant });
      }
      labelledTenants = labels ? [...names] : [];
      for (const tenant of labelledTenants) published.inc({ tenant }, 0);
    },
    recordStatus(tenant, status) {
      if (!labels) return;
      backlog.set({ tenant }, status.backlog);
      oldestAge.set({ tenant }, status.oldestPendingAgeSeconds ?? 0);
    },
  };
}

/** Status samples of several tenants as one (the unlabelled totals): counts add up, the oldest age is the oldest. */
export function sumStatuses(statuses: readonly OutboxStatus[]): OutboxStatus {
  const ages = statuses.flatMap((status) => (status.oldestPendingAgeSeconds === null ? [] : [status.oldestPendingAgeSeconds]));
  return {
    backlog: statuses.reduce((sum, status) => sum + status.backlog, 0),
    oldestPendingAgeSeconds: ages.length === 0 ? null : Math.max(...ages),
    shardOwners: statuses.flatMap((status) => status.shardOwners),
    quarantined: statuses.reduce((sum, status) => sum + status.quarantined, 0),
    parkedAggregates: statuses.reduce((sum, status) => sum + status.parkedAggregates, 0),
  };
}
