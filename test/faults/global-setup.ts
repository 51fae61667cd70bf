// Global setup of vitest.faults.config.ts: gives the scenario files one table file to append
// their rows to (they run in workers) and prints the whole table once every file has finished.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, readTableFile } from './harness.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'okt-faults-'));
  const file = join(dir, 'table.jsonl');
  process.env.OUTBOX_FAULTS_TABLE = file;
  return () => {
    const rows = readTableFile(file);
    console.log(`\nfault scenarios (${rows.length} rows)\n${rows.length > 0 ? formatTable(rows) : '(no scenario finished)'}\n`);
    rmSync(dir, { recursive: true, force: true });
  };
}
