/** One result row: a figure of ours against a baseline, the ratio, and whether it meets its target. */

/** A target on `ours / baseline`: at most or at least a value, or figures reported only. */
export type Target = { atMost: number } | { atLeast: number } | "report";

/** One row as printed and as written by `--json`. */
export interface Row {
  case: string;
  unit: string;
  ours: number;
  baseline: number;
  /** ours / baseline. */
  ratio: number;
  /** Human-readable target on the ratio, e.g. "<= 0.8x", or "report". */
  target: string;
  /** Whether the ratio meets the target; null when the figure is only reported. */
  pass: boolean | null;
}

/**
 * Builds a row, computing the ratio and the verdict.
 *
 * @example
 * ```ts
 * const row = makeRow("warm call p50", "µs", 250, 380, { atMost: 0.8 });
 * ```
 */
export function makeRow(name: string, unit: string, ours: number, baseline: number, target: Target): Row {
  const ratio = ours / baseline;
  let text = "report";
  let pass: boolean | null = null;
  if (target !== "report" && "atMost" in target) {
    text = `<= ${target.atMost}x`;
    pass = ratio <= target.atMost;
  } else if (target !== "report") {
    text = `>= ${target.atLeast}x`;
    pass = ratio >= target.atLeast;
  }
  return { case: name, unit, ours: round(ours), baseline: round(baseline), ratio: round(ratio), target: text, pass };
}

// Three significant digits are as many as a 2-core machine's noise allows.
function round(value: number): number {
  return Number(value.toPrecision(3));
}
