/**
 * Percentiles and summaries of samples (milliseconds, bytes, anything numeric). Pure.
 */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0..100) of ascending `sorted` values, interpolating linearly between the
 * two nearest ranks (numpy's default), so small samples do not jump from one value to the next.
 * Undefined for no samples: absent is not zero.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (rank - below);
}

export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  let total = 0;
  for (const value of sorted) total += value;
  return {
    count: sorted.length,
    min: sorted[0] as number,
    mean: total / sorted.length,
    p50: percentile(sorted, 50) as number,
    p90: percentile(sorted, 90) as number,
    p99: percentile(sorted, 99) as number,
    max: sorted[sorted.length - 1] as number,
  };
}

export function median(values: readonly number[]): number | undefined {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** a / b, undefined when either is absent or b is zero (a ratio to nothing is not infinity). */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return a / b;
}

/** a - b, undefined when either is absent. */
export function difference(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}
