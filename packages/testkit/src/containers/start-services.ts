import { SERVICE_NAMES, SERVICES, type ServiceName } from '../service-catalog.js';
import { containerChance, resolveService, type ContainerChance, type Resolution, type ServiceSource } from './resolve.js';

export type { ServiceSource } from './resolve.js';

/** Milliseconds a container may take to be ready once its image is there (pulling is not counted). */
export const DEFAULT_STARTUP_TIMEOUT_MS = 120_000;

export interface StartOutboxTestServicesOptions<S extends ServiceName> {
  /** The services needed. Default: all of them (`postgres`, `mysql`, `rabbitmq`, `redis`, `nats`). */
  services?: readonly S[];
  /**
   * Where the services' variables are read and where a started container's URL is written.
   * Default `process.env`, so serviceUrl() and processes started later see the containers.
   */
  env?: NodeJS.ProcessEnv;
  /** Default {@link DEFAULT_STARTUP_TIMEOUT_MS}. */
  startupTimeoutMs?: number;
}

export interface OutboxTestServices<S extends ServiceName> {
  /** A reachable URL per service. */
  readonly urls: Readonly<Record<S, string>>;
  /** Where each URL came from: the service's variable, the local default, or a container started by this call. */
  readonly sources: Readonly<Record<S, ServiceSource>>;
  /** Stops the containers this call started and unsets the variables it set. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * URLs for the services your tests need: each service's variable, else its local default, else
 * (outside CI, where Docker or Podman answers and the optional peer `testcontainers` is
 * installed) a container started for it, whose URL is also written to the service's variable.
 * Call it once per test run (a global setup), not per test file. Throws, naming every service
 * it could not provide and what to do, after stopping whatever it had started.
 *
 * @example
 * const services = await startOutboxTestServices({ services: ['postgres', 'rabbitmq'] });
 * try {
 *   // services.urls.postgres, services.urls.rabbitmq; serviceUrl('postgres') returns the same
 * } finally {
 *   await services.stop();
 * }
 */
export async function startOutboxTestServices<S extends ServiceName = ServiceName>(
  options: StartOutboxTestServicesOptions<S> = {},
): Promise<OutboxTestServices<S>> {
  const names = options.services ?? (SERVICE_NAMES as readonly S[]);
  const provided = await provideServices(names, options.env ?? process.env, options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
  const problems = provided.resolutions.flatMap((resolution) => ('problem' in resolution ? [resolution.problem] : []));
  if (problems.length > 0) {
    await provided.stop();
    throw new Error(`startOutboxTestServices: ${problems.length} service(s) unavailable:\n- ${problems.join('\n- ')}`);
  }
  const urls = {} as Record<S, string>;
  const sources = {} as Record<S, ServiceSource>;
  for (const resolution of provided.resolutions) {
    if ('problem' in resolution) continue;
    urls[resolution.name as S] = resolution.url;
    sources[resolution.name as S] = resolution.source;
  }
  return { urls: Object.freeze(urls), sources: Object.freeze(sources), stop: provided.stop };
}

export interface ProvidedServices {
  readonly resolutions: readonly Resolution[];
  stop(): Promise<void>;
}

/**
 * Resolves every service at once (containers start in parallel) and writes each started
 * container's URL to its variable in `env`. Unavailable services are reported, not thrown.
 */
export async function provideServices(names: readonly ServiceName[], env: NodeJS.ProcessEnv, startupTimeoutMs: number): Promise<ProvidedServices> {
  let chance: Promise<ContainerChance> | undefined;
  const sharedChance = () => (chance ??= containerChance(env));
  const settled = await Promise.allSettled(names.map((name) => resolveService(name, env, sharedChance, startupTimeoutMs)));
  const resolutions = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const started = resolutions.flatMap((resolution) => ('container' in resolution ? [resolution] : []));
  const stop = async () => {
    const outcomes = await Promise.allSettled(started.map(({ container }) => container.stop()));
    const failures = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${started[index]!.name}: ${(outcome.reason as Error).message}`] : [],
    );
    if (failures.length > 0) throw new Error(`stopping test containers failed: ${failures.join('; ')}`);
  };
  // A setting that is wrong (an unparsable URL, say) fails the call, but not before the
  // containers other services got are stopped again.
  const broken = settled.find((outcome) => outcome.status === 'rejected');
  if (broken) {
    await stop();
    throw broken.reason;
  }
  for (const { name, url } of started) env[SERVICES[name].env] = url;
  let stopping: Promise<void> | undefined;
  return {
    resolutions,
    stop: () =>
      (stopping ??= (async () => {
        for (const { name, url } of started) {
          if (env[SERVICES[name].env] === url) delete env[SERVICES[name].env];
        }
        await stop();
      })()),
  };
}
