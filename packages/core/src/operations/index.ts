export * from './types.js';
export * from './time.js';
export * from './history-pages.js';
export * from './replay.js';
export * from './cleanup.js';
export * from './inbox-support.js';
export * from './resolve-quarantined.js';
