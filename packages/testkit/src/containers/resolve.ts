import { redactUrl } from '@outboxkit/core';
import { urlAnswers } from '../connect-probe.js';
import { isCi, SERVICES, type ServiceName } from '../service-catalog.js';
import { SERVICE_CONTAINERS } from './definitions.js';
import { containerPolicy } from './policy.js';
import { detectContainerRuntime } from './runtime.js';
import { loadTestcontainers, startServiceContainer, TESTCONTAINERS_INSTALL, type StartedServiceContainer, type Testcontainers } from './testcontainers.js';

/** Whether a service nobody runs can be started in a container here, and if not, why. */
export type ContainerChance =
  | { readonly kind: 'off'; readonly reason: string }
  | { readonly kind: 'no-runtime'; readonly tried: readonly string[] }
  | { readonly kind: 'no-testcontainers'; readonly via: string }
  | { readonly kind: 'ready'; readonly via: string; readonly dockerHost?: string; readonly testcontainers: Testcontainers };

export async function containerChance(env: NodeJS.ProcessEnv): Promise<ContainerChance> {
  const policy = containerPolicy(env);
  if (!policy.allowed) return { kind: 'off', reason: policy.reason };
  const runtime = await detectContainerRuntime(env);
  if (!runtime.found) return { kind: 'no-runtime', tried: runtime.tried };
  const testcontainers = await loadTestcontainers();
  if (!testcontainers) return { kind: 'no-testcontainers', via: runtime.via };
  return { kind: 'ready', via: runtime.via, ...(runtime.dockerHost ? { dockerHost: runtime.dockerHost } : {}), testcontainers };
}

/**
 * Why a service is not reachable at `url` and what to do: the text serviceUrl() throws. A URL from
 * the service's variable is used as given (a typo must not be papered over by a container);
 * for the local default, the message says why no container was started in its place.
 */
export async function unreachableMessage(
  name: ServiceName,
  url: string,
  env: NodeJS.ProcessEnv,
  chance: () => Promise<ContainerChance> = () => containerChance(env),
): Promise<string> {
  const variable = SERVICES[name].env;
  const base = `${name} is not reachable at ${redactUrl(url)}.`;
  if (env[variable]) {
    return (
      `${base} ${variable} is used as given, never replaced by a container: start the server it names or correct it.` +
      (isCi(env) ? ` CI=${env.CI}: a missing service fails the run.` : '')
    );
  }
  const found = await chance();
  switch (found.kind) {
    case 'off':
      return `${base} ${capitalized(found.reason)}. Start it (see docs/testing.md) or point ${variable} at a running server.`;
    case 'no-runtime':
      return (
        `${base} No container runtime was found to start it in (${found.tried.join('; ')}). ` +
        `Start it and point ${variable} at it (see docs/testing.md), or start Docker or Podman and set DOCKER_HOST to its socket.`
      );
    case 'no-testcontainers':
      return `${base} A container runtime answers (${found.via}), but testcontainers is not installed: add ${TESTCONTAINERS_INSTALL} as a dev dependency to have it started in a container, or point ${variable} at a running server.`;
    case 'ready':
      return (
        `${base} A container runtime answers (${found.via}) and testcontainers is installed, but nothing started ${name} for this run: ` +
        `call startOutboxTestServices() before the tests (vitest: globalSetup: ['@outboxkit/testkit/vitest-global-setup']), or point ${variable} at a running server.`
      );
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export type ServiceSource = 'env' | 'local' | 'container';

export type Resolution =
  | { readonly name: ServiceName; readonly source: 'env' | 'local'; readonly url: string }
  | { readonly name: ServiceName; readonly source: 'container'; readonly url: string; readonly container: StartedServiceContainer }
  | { readonly name: ServiceName; readonly problem: string };

/**
 * A URL for `name`: its variable (used as given), else the local default, else, where
 * {@link containerChance} allows, a container started for it. `chance` is shared by the
 * services of one call, so the runtime is looked for once.
 */
export async function resolveService(
  name: ServiceName,
  env: NodeJS.ProcessEnv,
  chance: () => Promise<ContainerChance>,
  startupTimeoutMs: number,
): Promise<Resolution> {
  const { env: variable, fallback } = SERVICES[name];
  const explicit = env[variable];
  if (explicit)
    return (await urlAnswers(explicit, variable)) ? { name, source: 'env', url: explicit } : { name, problem: await unreachableMessage(name, explicit, env) };
  if (await urlAnswers(fallback, `${name}'s local default`)) return { name, source: 'local', url: fallback };
  const found = await chance();
  if (found.kind !== 'ready') return { name, problem: await unreachableMessage(name, fallback, env, chance) };
  // testcontainers reads process.env; tell it about the socket found here (Podman's, say),
  // which its own strategy would not look for.
  if (found.dockerHost && !process.env.DOCKER_HOST) process.env.DOCKER_HOST = found.dockerHost;
  const definition = SERVICE_CONTAINERS[name];
  try {
    const container = await startServiceContainer(found.testcontainers, definition, startupTimeoutMs);
    return { name, source: 'container', url: container.url, container };
  } catch (error) {
    return {
      name,
      problem:
        `${name} is not reachable at ${redactUrl(fallback)}, and starting it in a container (${definition.image}, runtime ${found.via}) ` +
        `failed: ${(error as Error).message}. Point ${variable} at a running server instead.`,
    };
  }
}
