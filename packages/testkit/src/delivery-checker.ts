/**
 * The delivery checker every guarantee test uses: record attempts and deliveries in a
 * {@link DeliveryLog}, judge them with {@link checkDeliveries}, print with {@link formatReport},
 * fail with {@link expectDeliveryOk}.
 */
export { DeliveryLog, allCommittedDelivered } from './delivery-log.js';
export type { Attempt, AttemptedEvent, Delivery, RecordedDelivery, WriteOutcome } from './delivery-log.js';
export { checkDeliveries } from './delivery-check.js';
export type { DeliveryMismatch, DeliveryReport, DuplicatedId, OrderViolation, UnexpectedDelivery } from './delivery-check.js';
export { DeliveryCheckError, describeFailure, expectDeliveryOk, formatReport } from './delivery-report.js';
export { aggregateLabel } from './aggregate-label.js';
