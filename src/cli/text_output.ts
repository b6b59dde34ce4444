/** Plain-text output pieces: aligned tables, times, short version hashes, JSON documents. */

/**
 * Rows under a header, each column as wide as its widest cell.
 *
 * @example
 * ```ts
 * console.log(table(["APP", "STATE"], [["demo", "deployed"]]));
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  return [header, ...rows]
    .map((row) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  "))
    .join("\n");
}

/**
 * A time in milliseconds since the epoch as ISO 8601 (UTC); "-" for 0 (not yet).
 *
 * @example
 * ```ts
 * isoTime(0); // "-"
 * isoTime(1700000000000); // "2023-11-14T22:13:20.000Z"
 * ```
 */
export function isoTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/**
 * The first 12 hex digits of an app version, as the CLI shows it.
 *
 * @example
 * ```ts
 * shortVersion("3f1c…"); // "3f1c2a9b0d4e"
 * ```
 */
export function shortVersion(version: string): string {
  return version.slice(0, 12);
}

/**
 * Prints one JSON document on stdout, indented.
 *
 * @example
 * ```ts
 * printJson({ apps: [] });
 * ```
 */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
