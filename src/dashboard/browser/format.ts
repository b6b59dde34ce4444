/** How the dashboard writes durations, sizes, times and versions. */

/**
 * A duration: `850 µs`, `12.3 ms`, `4.20 s`, `3 min 05 s`, `2 h 04 min`.
 *
 * @example
 * ```ts
 * duration(1234); // "1.23 s"
 * ```
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(minutes / 1440)} d ${Math.floor((minutes % 1440) / 60)} h`;
}

/**
 * A size: `512 B`, `1.5 KiB`, `28.0 MiB`.
 *
 * @example
 * ```ts
 * bytes(2048); // "2.0 KiB"
 * ```
 */
export function bytes(count: number | undefined): string {
  if (count === undefined || !Number.isFinite(count)) return "–";
  if (count < 1024) return `${count} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = count / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A moment as the local time of day, with the date when it is not today.
 *
 * @example
 * ```ts
 * time(Date.now()); // "14:03:07"
 * ```
 */
export function time(epochMs: number | undefined): string {
  if (epochMs === undefined) return "–";
  const date = new Date(epochMs);
  const clock = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return date.toDateString() === new Date().toDateString() ? clock : `${date.toLocaleDateString()} ${clock}`;
}

/**
 * A moment as an ISO string, for `<time datetime>` and tooltips.
 *
 * @example
 * ```ts
 * iso(0); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function iso(epochMs: number | undefined): string | undefined {
  return epochMs === undefined ? undefined : new Date(epochMs).toISOString();
}

/**
 * A version hash's first twelve characters.
 *
 * @example
 * ```ts
 * shortVersion("0123456789abcdef0123"); // "0123456789ab"
 * ```
 */
export function shortVersion(version: string): string {
  return version.slice(0, 12);
}

/**
 * A number of calls per second, or milliseconds, kept short.
 *
 * @example
 * ```ts
 * amount(1234.5); // "1.2k"
 * ```
 */
export function amount(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  if (value >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return value.toFixed(1);
}
