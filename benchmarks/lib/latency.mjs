// Commit -> consumer latency with an HDR histogram (microsecond resolution, 3 significant digits).
import * as hdr from 'hdr-histogram-js';

export const PERCENTILES = [50, 95, 99, 99.9];
/** Points of the percentile curve drawn in the report (x = percentile). */
export const CURVE_POINTS = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];

/**
 * Matches commits and deliveries by event id, whichever is seen first (a delivery can race the
 * producer's own COMMIT acknowledgement), and records the difference.
 */
export function latencyRecorder() {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const committed = new Map();
  const delivered = new Map();
  let recorded = 0;
  const record = (micros) => {
    histogram.recordValue(Math.max(1, Math.round(micros)));
    recorded++;
  };
  return {
    committed(id, at) {
      const got = delivered.get(id);
      if (got === undefined) committed.set(id, at);
      else {
        delivered.delete(id);
        record((got - at) * 1000);
      }
    },
    delivered(id, at) {
      const sent = committed.get(id);
      if (sent === undefined) delivered.set(id, at);
      else {
        committed.delete(id);
        record((at - sent) * 1000);
      }
    },
    get recorded() {
      return recorded;
    },
    /** Percentiles in milliseconds. */
    summary() {
      const ms = (p) => histogram.getValueAtPercentile(p) / 1000;
      return {
        count: recorded,
        percentiles: Object.fromEntries(PERCENTILES.map((p) => [`p${p}`, ms(p)])),
        maxMs: histogram.maxValue / 1000,
        curve: CURVE_POINTS.map((p) => [p, ms(p)]),
      };
    },
  };
}
