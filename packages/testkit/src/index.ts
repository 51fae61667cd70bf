export * from './services.js';
export * from './delivery-checker.js';
export * from './rabbit-collector.js';
export * from './pg-schema.js';
