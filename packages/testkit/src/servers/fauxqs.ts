import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forgetful, startPrivateServer, type ForgetfulServer } from './child-server.js';
import { freePort } from './ports.js';

/**
 * A private fauxqs (an SQS/SNS emulator speaking the AWS wire protocol) on its own port. Its
 * `url` is the endpoint, `http://127.0.0.1:<port>`; any credentials are accepted, and the account
 * is 000000000000. It keeps everything in memory: a kill() loses every queue, topic and message,
 * so what a test registers with `afterStart` (its queues and topics) is created again by each
 * later start(), as infrastructure code would after an outage.
 */
export type FauxqsServer = ForgetfulServer;

/** The account fauxqs puts in queue URLs and ARNs. */
export const FAUXQS_ACCOUNT = '000000000000';

/** The fauxqs command line (`fauxqs/dist/cli.js`), or an error saying what to install. */
function fauxqsCli(): string {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('fauxqs'));
  } catch {
    throw new Error('startFauxqs: the fauxqs package is not installed; install it (pnpm add -D fauxqs@1.9.2; later versions need Node 22.5)');
  }
  return join(dirname(entry), 'cli.js');
}

/**
 * Starts fauxqs in a child Node process on a free loopback port and resolves once it accepts
 * connections. A child process, not in-process, so a test can SIGKILL and SIGSTOP it.
 *
 * @example
 * const sqs = await startFauxqs();
 * try { new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials }); } finally { await sqs.dispose(); }
 */
export async function startFauxqs(options: { startTimeoutMs?: number } = {}): Promise<FauxqsServer> {
  const cli = fauxqsCli();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'okt-fauxqs-'));
  const server = await startPrivateServer(
    {
      name: 'fauxqs',
      command: 'env',
      args: [`FAUXQS_PORT=${port}`, 'FAUXQS_LOGGER=false', process.execPath, cli],
      port,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    },
    `http://127.0.0.1:${port}`,
    dir,
  );
  return forgetful(server);
}
