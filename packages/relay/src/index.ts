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
export {
  ADMIN_DEFAULTS,
  createOutboxAdmin,
  type AdminReplayResult,
  type CleanupOptions,
  type CleanupResult,
  type CleanupWarning,
  type OutboxAdmin,
  type OutboxAdminOptions,
  type QuarantineResolution,
  type ReconcileOptions,
  type ReconcileResult,
  type ReplayRunOptions,
  type ReplaySelection,
  type ResolvedQuarantine,
  type TimeBound,
} from './admin/outbox-admin.js';
export { judgeHealth, type HealthReport, type HealthState, type HealthThresholds } from './admin/health.js';
