/**
 * Turns a function's result (any value CBOR carries) into a value JSON can show, by fixed rules
 * rather than whatever `JSON.stringify` happens to do.
 */
import { Code, StupidModalError } from "../wire/errors.ts";

/**
 * The JSON-ready form of a value:
 *
 * - `undefined` → `null` (in arrays and as an object's property too); `NaN`, `Infinity` → `null`
 * - `BigInt` → its decimal string; `Date` → its ISO string (`null` if invalid); `RegExp` → `"/a+/g"`
 * - `Map` → an object when every key is a string, else an array of `[key, value]` pairs
 * - `Set` → an array; typed arrays, `ArrayBuffer`, `DataView` → arrays of numbers (of strings for
 *   `BigInt64Array` and `BigUint64Array`)
 * - an `Error` → `{ name, message }`; other objects → their own enumerable properties
 *
 * A value that contains itself cannot be shown: INTERNAL, naming where the cycle closes.
 *
 * @example
 * ```ts
 * toJsonValue(new Map([["a", 1n]])); // { a: "1" }
 * toJsonValue(new Map([[1, "x"]])); // [[1, "x"]]
 * ```
 */
export function toJsonValue(value: unknown, path = "result"): unknown {
  return convert(value, path, new Set());
}

function convert(value: unknown, path: string, open: Set<object>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      // undefined; functions and symbols never arrive in CBOR.
      return null;
  }
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof RegExp) return String(value);
  if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return fromView(value);
  if (open.has(value)) {
    throw new StupidModalError(Code.INTERNAL, `the result cannot be shown as JSON: ${path} contains itself`);
  }
  open.add(value);
  try {
    return fromContainer(value, path, open);
  } finally {
    open.delete(value);
  }
}

function fromView(view: ArrayBufferView): unknown[] {
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) return Array.from(view, String);
  if (view instanceof DataView) return Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return Array.from(view as unknown as ArrayLike<number>);
}

function fromContainer(value: object, path: string, open: Set<object>): unknown {
  if (Array.isArray(value)) {
    // Array.from visits holes as undefined, so they become null.
    return Array.from(value, (item, i) => convert(item, `${path}[${i}]`, open));
  }
  if (value instanceof Set) return Array.from(value, (item, i) => convert(item, `${path}[${i}]`, open));
  if (value instanceof Map) {
    const entries = [...value.entries()];
    if (entries.every(([key]) => typeof key === "string")) {
      return record(entries.map(([key, item]) => [key, convert(item, `${path}.get(${JSON.stringify(key)})`, open)]));
    }
    return entries.map(([key, item], i) => [
      convert(key, `${path} key ${i}`, open),
      convert(item, `${path} value ${i}`, open),
    ]);
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  return record(
    Object.entries(value).map(([key, item]) => [key, convert(item, `${path}${propertyPath(key)}`, open)]),
  );
}

/** An object with exactly these properties; "__proto__" stays an ordinary key. */
function record(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = Object.create(null);
  for (const [key, item] of entries) object[key] = item;
  return object;
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
