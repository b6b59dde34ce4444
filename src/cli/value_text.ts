/** How the CLI shows a function's values: as JSON when JSON can hold them, else in a readable form. */

/** Display options for values JSON cannot show: whole structures, long arrays cut short. */
const inspectOptions: Deno.InspectOptions = {
  colors: false,
  depth: Infinity,
  iterableLimit: 1_000,
  strAbbreviateSize: Infinity,
  breakLength: Infinity,
  compact: true,
};

/**
 * Whether JSON shows a value exactly: null, booleans, finite numbers, strings, and arrays and
 * plain objects of those (no undefined, BigInt, Map, Set, Date, typed array, cycle).
 *
 * @example
 * ```ts
 * isJsonValue({ a: [1, "x"] }); // true
 * isJsonValue(new Map()); // false
 * ```
 */
export function isJsonValue(value: unknown, ancestors: Set<object> = new Set()): boolean {
  if (value === null || typeof value === "boolean" || typeof value === "string") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || ancestors.has(value)) return false;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value) || !isJsonValue(value[i], ancestors)) return false;
      }
      return true;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    if (Object.getOwnPropertySymbols(value).length > 0) return false;
    return Object.values(value).every((item) => isJsonValue(item, ancestors));
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A value as one line of text: its JSON, or (for BigInt, Map, Uint8Array, undefined…) the form
 * `Deno.inspect` gives it.
 *
 * @example
 * ```ts
 * valueText({ a: 1 }); // '{"a":1}'
 * valueText(2n ** 70n); // "1180591620717411303424n"
 * ```
 */
export function valueText(value: unknown): string {
  return isJsonValue(value) ? JSON.stringify(value) : Deno.inspect(value, inspectOptions);
}

/**
 * A value for `--json` output: `{ value }` when JSON holds it, else `{ value_text }` with its
 * readable form.
 *
 * @example
 * ```ts
 * valueFields(3); // { value: 3 }
 * valueFields(new Set([1])); // { value_text: "Set(1) { 1 }" }
 * ```
 */
export function valueFields(value: unknown): { value: unknown } | { value_text: string } {
  return isJsonValue(value) ? { value } : { value_text: Deno.inspect(value, inspectOptions) };
}

/**
 * A command-line argument as a value: its JSON when it parses, else the string itself.
 *
 * @example
 * ```ts
 * argumentValue("3"); // 3
 * argumentValue("three"); // "three"
 * argumentValue('{"a":1}'); // { a: 1 }
 * ```
 */
export function argumentValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
