import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Connection strings never reach the logger unredacted, and
 * these paths are censored as a second line of defence should one slip into a log object.
 */
export function createLogger(level: string): Logger {
  return pino({
    name: 'outbox-relay',
    level,
    redact: {
      paths: ['password', '*.password', 'url', '*.url', 'databaseUrl', 'brokerUrl', 'connectionString', '*.connectionString'],
      censor: '[redacted]',
    },
  });
}
