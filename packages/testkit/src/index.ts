export * from './services.js';
export * from './delivery-checker.js';
export * from './rabbit-collector.js';
export * from './pg-schema.js';
export * from './conformance/harness.js';
export * from './conformance/gated-publisher.js';
export * from './conformance/dialect-conformance.js';
export * from './servers/index.js';
