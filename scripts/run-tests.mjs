// Runs vitest and ends with the plain closing line CI reads: "N passed, N failed[, N skipped]".
// vitest's own summary is not recognised by CI, so the figures come from its JSON report.
// Extra arguments are passed through to vitest (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const report = 'test-results.json';
rmSync(report, { force: true });
// The local binary, so this works outside `pnpm run` too (where node_modules/.bin is not on PATH).
const vitest = fileURLToPath(new URL('../node_modules/.bin/vitest', import.meta.url));
const result = spawnSync(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  shell: false,
});
if (!existsSync(report)) {
  console.error(`vitest wrote no report: the run did not start${result.error ? ` (${result.error.message})` : ''}`);
  console.log('0 passed, 1 failed');
  process.exit(result.status || 1);
}
const totals = JSON.parse(readFileSync(report, 'utf8'));
const skipped = (totals.numPendingTests ?? 0) + (totals.numTodoTests ?? 0);
// A suite that failed to load counts its file as a failure even if no test inside it ran.
const failedSuites = (totals.testResults ?? []).filter((file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0).length;
const failed = totals.numFailedTests + failedSuites;
console.log(`\n${totals.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
const ranNothing = totals.numTotalTests === 0;
process.exit(result.status !== 0 || failed > 0 || ranNothing ? result.status || 1 : 0);
