import { randomBytes } from 'node:crypto';
import { urlAnswers } from './connect-probe.js';
import { unreachableMessage } from './containers/resolve.js';
import { SERVICES, type ServiceName } from './service-catalog.js';

export { SERVICES, SERVICE_NAMES, type ServiceName } from './service-catalog.js';

const reachable = new Map<string, Promise<boolean>>();

/**
 * The URL of a test service: the environment variable, else the local default (a container
 * started for the run by startOutboxTestServices() or the vitest global setup is found through
 * the variable). It is probed once per process; an unreachable service throws (it never skips),
 * saying why no container stood in and what to set.
 */
export async function serviceUrl(name: ServiceName): Promise<string> {
  const { env, fallback } = SERVICES[name];
  const url = process.env[env] || fallback;
  let probe = reachable.get(url);
  if (!probe) {
    probe = urlAnswers(url, env);
    reachable.set(url, probe);
  }
  if (!(await probe)) throw new Error(await unreachableMessage(name, url, process.env));
  return url;
}

/** A name unique to this test run, safe as a SQL identifier and an AMQP name: `prefix_<time>_<random>`. */
export function uniqueName(prefix = 'okt'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
