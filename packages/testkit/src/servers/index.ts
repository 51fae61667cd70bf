export { startRabbitNode, type RabbitNode, type RabbitNodeOptions } from './rabbitmq-node.js';
export { freePort, waitForPort } from './ports.js';
