/** How often the relay repeats the warning about one route's permanent failures. */
export const FAILURE_WARNING_INTERVAL_MS = 60_000;

// Routes remembered at most; beyond this the oldest are forgotten (and may warn again early).
const MAX_ROUTES = 1000;

/**
 * Rate-limits the relay's warning about permanent publish failures, per route: the first failure
 * of a route (its reason and destination) warns at once, later ones of the same route at most
 * once per `intervalMs`, saying how many were not logged in between. A permanent failure burns
 * one of the event's attempts, so it must be visible at the default log level; one line per
 * event would drown the log when a whole route is unbound.
 *
 * @example
 * const warnings = new FailureWarnings();
 * const due = warnings.due(`${error.reason} ${error.destination}`);
 * if (due) logger.warn({ suppressed: due.suppressed }, error.message);
 */
export class FailureWarnings {
  readonly #lastWarned = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number = FAILURE_WARNING_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The failures of `route` not logged since its last warning when this one should be logged; null otherwise. */
  due(route: string): { readonly suppressed: number } | null {
    const now = this.now();
    const last = this.#lastWarned.get(route);
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed++;
      return null;
    }
    this.#lastWarned.delete(route);
    this.#lastWarned.set(route, { at: now, suppressed: 0 });
    if (this.#lastWarned.size > MAX_ROUTES) this.#lastWarned.delete(this.#lastWarned.keys().next().value!);
    return { suppressed: last?.suppressed ?? 0 };
  }
}
