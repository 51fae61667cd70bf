import type { ServiceContainer } from './definitions.js';

// The subset of testcontainers used here, written out so that testkit's published types never
// name the package: it is an optional peer, and users without it must still type-check.
type WaitStrategy = object;
interface StartedContainer {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface ContainerBuilder {
  withExposedPorts(...ports: number[]): ContainerBuilder;
  withEnvironment(environment: Record<string, string>): ContainerBuilder;
  withCommand(command: string[]): ContainerBuilder;
  withWaitStrategy(waitStrategy: WaitStrategy): ContainerBuilder;
  withStartupTimeout(startupTimeoutMs: number): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
export interface Testcontainers {
  GenericContainer: new (image: string) => ContainerBuilder;
  Wait: {
    forAll(waitStrategies: WaitStrategy[]): WaitStrategy;
    forListeningPorts(): WaitStrategy;
    forLogMessage(message: RegExp, times?: number): WaitStrategy;
  };
  getContainerRuntimeClient(): Promise<{ info: { containerRuntime: { host: string } } }>;
}

/** The version range testkit is written against (and the newest whose dependencies run on Node 20). */
export const TESTCONTAINERS_INSTALL = 'testcontainers@12.0.1';

let loading: Promise<Testcontainers | undefined> | undefined;

/** testcontainers when it is installed, else `undefined`; loaded once, on first need. */
export function loadTestcontainers(): Promise<Testcontainers | undefined> {
  loading ??= import('testcontainers').then(
    (module): Testcontainers => module,
    (error: NodeJS.ErrnoException) => {
      // Only testcontainers itself missing means "not installed"; a broken install says so.
      if (error.code === 'ERR_MODULE_NOT_FOUND' && /['"]testcontainers['"]/.test(error.message)) return undefined;
      throw error;
    },
  );
  return loading;
}

export interface StartedServiceContainer {
  readonly image: string;
  /** The URL tests use, from the definition's mapping of the container's host and published port. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts one service's container and waits until it is ready (see {@link ServiceContainer.ready}). */
export async function startServiceContainer(
  testcontainers: Testcontainers,
  definition: ServiceContainer,
  startupTimeoutMs: number,
): Promise<StartedServiceContainer> {
  const { GenericContainer, Wait } = testcontainers;
  let builder = new GenericContainer(definition.image)
    .withExposedPorts(definition.port)
    .withEnvironment({ ...definition.environment })
    .withWaitStrategy(Wait.forAll([Wait.forListeningPorts(), Wait.forLogMessage(definition.ready.log, definition.ready.times)]))
    .withStartupTimeout(startupTimeoutMs);
  if (definition.command) builder = builder.withCommand([...definition.command]);
  const started = await builder.start();
  return {
    image: definition.image,
    url: definition.url(started.getHost(), started.getMappedPort(definition.port)),
    async stop() {
      await started.stop();
    },
  };
}
