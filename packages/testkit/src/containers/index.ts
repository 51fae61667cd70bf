export { SERVICE_CONTAINERS, type ServiceContainer } from './definitions.js';
export { detectContainerRuntime, type ContainerRuntime } from './runtime.js';
export { CONTAINERS_VARIABLE } from './policy.js';
export {
  DEFAULT_STARTUP_TIMEOUT_MS,
  startOutboxTestServices,
  type OutboxTestServices,
  type ServiceSource,
  type StartOutboxTestServicesOptions,
} from './start-services.js';
