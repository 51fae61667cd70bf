export { startRabbitNode, type RabbitNode, type RabbitNodeOptions } from './rabbitmq-node.js';
export { startPostgresCluster, type PostgresCluster, type PostgresClusterOptions } from './postgres-cluster.js';
export { startMariaDbInstance, type MariaDbInstance, type MariaDbInstanceOptions } from './mariadb-instance.js';
export { freePort, waitForPort } from './ports.js';
export { startNatsServer, type NatsServer } from './nats-server.js';
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.js';
export { ChildServer, startPrivateServer, type ChildServerSpec, type PrivateServer } from './child-server.js';
export { startFauxqs, type FauxqsServer } from './fauxqs.js';
export { startPubsubEmulator, type PubsubEmulator } from './pubsub-emulator.js';
