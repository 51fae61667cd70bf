import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Shared with the ORM plugins' inbox tests.
export { RabbitTestBed, storedEvent, waitFor } from '@outboxkit/testkit';

const CONSUMER_PROCESS = fileURLToPath(new URL('../fixtures/inbox-consumer-process.mjs', import.meta.url));

export interface ConsumerProcess {
  /** Resolves when the child printed "ready". */
  readonly ready: Promise<void>;
  /** Resolves with the signal that ended the child (null for a normal exit) and its output. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  kill(): void;
}

/** Starts the consumer fixture in a child process with `env` (INBOX_* variables). */
export function startConsumerProcess(env: Record<string, string>): ConsumerProcess {
  const child = spawn(process.execPath, [CONSUMER_PROCESS], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (chunk) => {
    output += chunk;
    if (output.includes('ready')) onReady();
  });
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output })),
  );
  return {
    ready: Promise.race([ready, exited.then(({ output: text }) => Promise.reject(new Error(`consumer process exited before ready:\n${text}`)))]),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
