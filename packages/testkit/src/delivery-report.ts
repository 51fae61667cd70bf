import { aggregateLabel } from './aggregate-label.js';
import type { DeliveryReport } from './delivery-check.js';

/**
 * The report as a small table, one figure per line, for printing at the end of a guarantee test
 * or a benchmark run.
 *
 * @example
 * console.log(formatReport(log.check(), 'broker restart'));
 * // broker restart: OK
 * //   attempted         1000  (committed 990, rolled back 5, unknown 5)
 * //   delivered         1012  (distinct 993, duplicates 19 over 12 ids)
 * //   ...
 */
export function formatReport(report: DeliveryReport, title = 'delivery check'): string {
  const rows: [string, number, string?][] = [
    ['attempted', report.attempted, `committed ${report.committed}, rolled back ${report.rolledBack}, unknown ${report.unknown}`],
    ['delivered', report.delivered, `distinct ${report.distinctDelivered}, duplicates ${report.duplicateDeliveries} over ${report.duplicated.length} ids`],
    ['unknown delivered', report.unknownDelivered, `of ${report.unknown}`],
    ['lost', report.lost.length],
    ['unexpected', report.unexpected.length],
    ['out of order', report.orderViolations.length],
    ['mismatched', report.mismatches.length],
    ['without sequence', report.withoutSequence],
  ];
  const width = Math.max(...rows.map(([, value]) => String(value).length));
  const lines = rows.map(([label, value, detail]) => `  ${label.padEnd(17)} ${String(value).padStart(width)}${detail ? `  (${detail})` : ''}`);
  return [`${title}: ${report.ok ? 'OK' : 'FAILED'}`, ...lines].join('\n');
}

/**
 * Names the events behind every failure (ids, aggregates, sequences, arrival positions), at most
 * `max` per kind, so a failing guarantee test says what went wrong without a debugger.
 *
 * @example
 * if (!report.ok) console.error(describeFailure(report, 5));
 */
export function describeFailure(report: DeliveryReport, max = 20): string {
  const summary =
    `${report.lost.length} lost, ${report.unexpected.length} unexpected, ${report.orderViolations.length} out of order, ` +
    `${report.mismatches.length} mismatched (attempted ${report.attempted}: ${report.committed} committed, ` +
    `${report.rolledBack} rolled back, ${report.unknown} unknown; ${report.delivered} deliveries, ${report.duplicateDeliveries} duplicates)`;
  if (report.ok) return `delivery check passed: ${summary}`;
  const sections = [
    section(
      'lost (committed, never delivered)',
      report.lost,
      max,
      (event) => `${event.id}  ${aggregateLabel(event.aggregateType, event.aggregateId)}${sequenceText(event.sequence)}`,
    ),
    section(
      'unexpected',
      report.unexpected,
      max,
      (delivery) =>
        `${delivery.id}  ${aggregateLabel(delivery.aggregateType, delivery.aggregateId)}${sequenceText(delivery.sequence)}  ` +
        `${delivery.reason === 'rolled-back' ? 'its write rolled back' : 'never attempted'}, arrival ${delivery.arrival}`,
    ),
    section(
      'out of order (first deliveries per aggregate)',
      report.orderViolations,
      max,
      (violation) =>
        `${violation.aggregate}: #${violation.sequence} ${violation.id} arrived after #${violation.previousSequence} ` +
        `${violation.previousId} (arrival ${violation.arrival})`,
    ),
    section(
      'mismatched (delivery disagrees with the write)',
      report.mismatches,
      max,
      (mismatch) =>
        `${mismatch.id}  ${mismatch.field}: written ${String(mismatch.attempted)}, delivered ${String(mismatch.delivered)} (arrival ${mismatch.arrival})`,
    ),
  ];
  return [`delivery check failed: ${summary}`, ...sections.filter((text) => text !== '')].join('\n');
}

/** Thrown by {@link expectDeliveryOk}; carries the whole report for programmatic inspection. */
export class DeliveryCheckError extends Error {
  readonly report: DeliveryReport;
  constructor(report: DeliveryReport, max?: number) {
    super(describeFailure(report, max));
    this.name = 'DeliveryCheckError';
    this.report = report;
  }
}

/**
 * Throws a {@link DeliveryCheckError} whose message is {@link describeFailure} unless the report is
 * ok. Any test runner shows it as a failed assertion, so the library needs no test framework.
 *
 * @example
 * it('delivers every committed event once the broker is back', async () => {
 *   // ... write, break, heal, drain ...
 *   expectDeliveryOk(log.check());
 * });
 */
export function expectDeliveryOk(report: DeliveryReport, max?: number): void {
  if (!report.ok) throw new DeliveryCheckError(report, max);
}

function section<T>(heading: string, items: readonly T[], max: number, line: (item: T) => string): string {
  if (items.length === 0) return '';
  const shown = items.slice(0, Math.max(0, max)).map((item) => `  - ${line(item)}`);
  const hidden = items.length - shown.length;
  return [`${heading}: ${items.length}`, ...shown, ...(hidden > 0 ? [`  … and ${hidden} more`] : [])].join('\n');
}

function sequenceText(sequence: number | undefined): string {
  return sequence === undefined ? '' : ` #${sequence}`;
}
