/** Renders result rows as a plain-text table for people. */
import type { Row } from "./row.ts";

const headers = ["case", "unit", "ours", "baseline", "ratio", "target", "pass"];

/**
 * The rows as aligned columns, one line per row under a header line.
 *
 * @example
 * ```ts
 * console.log(formatTable(rows));
 * ```
 */
export function formatTable(rows: Row[]): string {
  const cells = rows.map((row) => [
    row.case,
    row.unit,
    String(row.ours),
    String(row.baseline),
    `${row.ratio}x`,
    row.target,
    row.pass === null ? "-" : row.pass ? "yes" : "NO",
  ]);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i].length)));
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...cells.map(line)].join("\n");
}
