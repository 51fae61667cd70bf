import { isCi } from '../service-catalog.js';

/** The variable that switches the container fallback on (`1`) or off (`0`) whatever `CI` says. */
export const CONTAINERS_VARIABLE = 'OUTBOX_TEST_CONTAINERS';

export type ContainerPolicy = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Whether a missing service may be started in a container: outside CI, yes; under CI, only with
 * `OUTBOX_TEST_CONTAINERS=1`, so a CI run never depends on a runtime nobody checked is there.
 */
export function containerPolicy(env: NodeJS.ProcessEnv): ContainerPolicy {
  const value = env[CONTAINERS_VARIABLE]?.trim().toLowerCase() ?? '';
  if (value === '1' || value === 'true') return { allowed: true };
  if (value === '0' || value === 'false') {
    return { allowed: false, reason: `containers are switched off (${CONTAINERS_VARIABLE}=${env[CONTAINERS_VARIABLE]})` };
  }
  if (value !== '') {
    throw new TypeError(
      `${CONTAINERS_VARIABLE} must be 1 or true (start missing services in containers), 0 or false (never), ` +
        `or unset (outside CI only); got ${JSON.stringify(env[CONTAINERS_VARIABLE])}`,
    );
  }
  if (isCi(env)) {
    return { allowed: false, reason: `CI=${env.CI}: containers are not tried, so a missing service fails the run (${CONTAINERS_VARIABLE}=1 allows them)` };
  }
  return { allowed: true };
}
