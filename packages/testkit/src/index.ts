export * from './services.js';
export * from './delivery-checker.js';
