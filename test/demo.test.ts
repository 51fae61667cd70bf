import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { serviceUrl } from '@outboxkit/testkit';

// The README's quickstart runs this demo; these tests keep what it promises true.
const DEMO = fileURLToPath(new URL('../examples/demo/demo.mjs', import.meta.url));

function runDemo(brokerUrl: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [DEMO], { env: { ...process.env, OUTBOX_BROKER_URL: brokerUrl }, encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the quickstart demo', () => {
  it('delivers every committed order event and never the rolled-back one', async () => {
    const { status, output } = runDemo(await serviceUrl('rabbitmq'));
    expect(output).toContain('summary: 4 events committed, 4 delivered, 0 lost, 0 ghost (rolled-back) events');
    expect(output).toContain('orders in the database: 3');
    expect(output).not.toMatch(/consumer: order\.placed order\/o-3/);
    expect(status).toBe(0);
  }, 120_000);

  it('says clearly when the broker is not reachable, without the password', () => {
    const { status, output } = runDemo('amqp://guest:s3cretpw@127.0.0.1:1');
    expect(status).toBe(1);
    expect(output).toContain('RabbitMQ is not reachable at amqp://guest:***@127.0.0.1:1');
    expect(output).toContain('OUTBOX_BROKER_URL');
    expect(output).not.toContain('s3cretpw');
  }, 60_000);
});
