/** Order statistics of samples: the medians and tails the benchmark reports. */

/**
 * The `p`-th percentile (0–100) of samples, nearest-rank on a sorted copy.
 *
 * @example
 * ```ts
 * percentile([3, 1, 2], 50); // 2
 * ```
 */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new RangeError("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * The median of samples.
 *
 * @example
 * ```ts
 * median([5, 1, 3]); // 3
 * ```
 */
export function median(samples: number[]): number {
  return percentile(samples, 50);
}
