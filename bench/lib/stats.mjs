// Summary statistics of a list of numbers.

/** The p-th percentile (0..100) by the nearest-rank method over ascending `sorted`; null when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** {count, min, p50, p90, p99, max, mean} of `values`, rounded to 0.1; nulls when empty. */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  const round = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return {
    count: sorted.length,
    min: round(sorted.length ? sorted[0] : null),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
    mean: round(mean),
  };
}
