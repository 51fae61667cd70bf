export { openDatabase, relayConnectorFor, type DatabaseTarget } from './connect.js';
export { migrateCommand } from './commands/migrate.js';
export { statusCommand } from './commands/status.js';
export { runCommand, type RunFlags } from './commands/run.js';
export { createLogger } from './logger.js';
export {
  startRelayObservability,
  createRelayMetrics,
  type RelayObservability,
  type RelayObservabilityOptions,
  type RelayMetrics,
} from './observability/index.js';
