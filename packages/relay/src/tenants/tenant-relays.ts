import type { CycleResult, Relay, RelayHealth } from '@outboxkit/core';
import type { Logger } from 'pino';
import type { TenantLocation, TenantSpace } from './tenant-space.js';

export interface TenantRelaysOptions {
  readonly space: TenantSpace;
  readonly rescanIntervalMs: number;
  /** Apply pending migrations to each tenant before its relay starts (`--migrate`). */
  readonly migrate: boolean;
  /** The relay of one tenant: its own tables, the process's publisher and fair-scheduler lane. */
  relayFor(location: TenantLocation): Relay;
  readonly logger: Logger;
  /** Told after every scan which tenants are served now. */
  onTenants?(names: readonly string[]): void;
}

interface Served {
  readonly location: TenantLocation;
  readonly relay: Relay;
}

/**
 * One core {@link Relay} per tenant, each on its tenant's own tables (so leases, fencing and
 * order stay per tenant exactly as for a single outbox). Every `rescanIntervalMs` the tenant
 * list is read again: new tenants get a relay, dropped ones are stopped (the batch in flight
 * finishes, the leases are given back) and their connections closed. A tenant whose relay
 * cannot start (its tables are missing) is logged and tried again at the next scan.
 */
export class TenantRelays {
  private readonly served = new Map<string, Served>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: TenantRelaysOptions) {}

  /** The first scan (its errors reject: the database may not answer yet), then one per interval. */
  async start(): Promise<void> {
    await this.rescan();
    this.timer = setInterval(() => {
      this.rescan().catch((error) =>
        this.options.logger.warn({ err: error }, 'tenant scan failed; the served tenants keep running, retrying at the next scan'),
      );
    }, this.options.rescanIntervalMs);
    this.timer.unref();
  }

  /** Reads the tenant list and starts and stops relays to match; one scan at a time. */
  rescan(): Promise<void> {
    this.scanning ??= this.scan().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  get tenants(): readonly string[] {
    return [...this.served.keys()];
  }

  /** Where each served tenant's outbox is (for status samples). */
  locations(): [string, TenantLocation][] {
    return [...this.served].map(([name, { location }]) => [name, location]);
  }

  /**
   * The process's health as one relay's: running while every tenant's relay runs, the breaker
   * open when any is, the last poll the oldest of them (a tenant that stopped polling shows).
   */
  health(): RelayHealth {
    const all = [...this.served.values()].map(({ relay }) => relay.health());
    const polls = all.map((health) => health.lastPollAt);
    return {
      relayId: all[0]?.relayId ?? '',
      running: all.length > 0 && all.every((health) => health.running),
      ownedShards: all.flatMap((health) => health.ownedShards),
      breakerOpen: all.some((health) => health.breakerOpen),
      publisherConnected: all.length > 0 && all.every((health) => health.publisherConnected),
      lastPollAt: polls.includes(null) ? null : (polls.sort((a, b) => a!.getTime() - b!.getTime())[0] ?? null),
      configurationError: all.find((health) => health.configurationError !== null)?.configurationError ?? null,
    };
  }

  /** `run --once` over every tenant: each drains in its turn of the scheduler; the results add up. */
  async drain(): Promise<CycleResult> {
    const names = await this.options.space.list();
    const results = await Promise.all(
      names.map(async (name) => {
        const location = await this.options.space.open(name);
        try {
          if (this.options.migrate) await location.dialect.migrate(location.database);
          return await this.options.relayFor(location).drain();
        } finally {
          await location.close();
        }
      }),
    );
    const total: CycleResult = { claimed: 0, published: 0, failed: 0, quarantined: 0, expired: 0, fenced: 0, transient: false };
    for (const result of results) {
      for (const key of ['claimed', 'published', 'failed', 'quarantined', 'expired', 'fenced'] as const) total[key] += result[key];
      if (result.transient) {
        total.transient = true;
        if (result.brokerError !== undefined) total.brokerError = result.brokerError;
      }
    }
    return total;
  }

  /** Stops every tenant's relay (each finishes its batch in flight) and closes their connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.scanning;
    await Promise.all([...this.served.keys()].map((name) => this.release(name)));
  }

  private async scan(): Promise<void> {
    if (this.stopped) return;
    const wanted = await this.options.space.list();
    const dropped = [...this.served.keys()].filter((name) => !wanted.includes(name));
    await Promise.all(dropped.map((name) => this.release(name)));
    for (const name of wanted) if (!this.served.has(name) && !this.stopped) await this.serve(name);
    this.options.onTenants?.(this.tenants);
  }

  private async serve(name: string): Promise<void> {
    const { logger } = this.options;
    let location: TenantLocation | undefined;
    try {
      location = await this.options.space.open(name);
      if (this.options.migrate) {
        const applied = await location.dialect.migrate(location.database);
        if (applied.length > 0) logger.info({ tenant: name, applied }, 'migrations applied');
      }
      const relay = this.options.relayFor(location);
      await relay.start();
      this.served.set(name, { location, relay });
      logger.info({ tenant: name, relayId: relay.id }, 'tenant relay started');
    } catch (error) {
      await location?.close().catch(() => {});
      logger.error({ tenant: name, err: error }, 'tenant relay could not start; trying again at the next tenant scan');
    }
  }

  private async release(name: string): Promise<void> {
    const served = this.served.get(name);
    if (served === undefined) return;
    this.served.delete(name);
    await served.relay.stop();
    await served.location.close();
    if (!this.stopped) this.options.logger.info({ tenant: name }, 'tenant dropped: its relay stopped and its leases were released');
  }
}
