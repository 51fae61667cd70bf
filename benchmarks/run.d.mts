// Types for the harness entry, so the smoke test is type-checked like every other test.
export interface BenchmarkRun {
  /** Scenarios that failed (a failure is reported in the report, not thrown). */
  failed: number;
  jsonPath: string;
  mdPath: string;
  /** SVG chart files written beside the report. */
  charts: string[];
}

export function serviceUrls(env?: NodeJS.ProcessEnv): { postgres: string; mysql: string; rabbitmq: string };
export function main(argv: readonly string[]): Promise<BenchmarkRun>;
