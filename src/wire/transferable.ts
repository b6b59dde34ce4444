/** Checks, before anything is sent, that a value is data that CBOR can carry faithfully. */
import { Code, StupidModalError } from "./errors.ts";

const dataPrototypes = new Set<unknown>([
  Object.prototype,
  null,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
]);

/**
 * Throws INVALID_ARGUMENT naming the path of the first value that cannot travel: functions,
 * symbols, and class instances (their prototypes and methods would be lost).
 */
export function assertTransferable(value: unknown, path: string): void {
  walk(value, path, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): void {
  const kind = typeof value;
  if (kind === "function") fail(path, "is a function: code cannot travel, only data");
  if (kind === "symbol") fail(path, "is a symbol: symbols cannot travel");
  if (kind !== "object" || value === null) return;
  const object = value as object;
  if (ArrayBuffer.isView(object) || seen.has(object)) return;
  seen.add(object);
  const proto = Object.getPrototypeOf(object);
  if (!dataPrototypes.has(proto)) {
    const name = proto?.constructor?.name ?? "unknown";
    fail(
      path,
      `is an instance of ${name}: only plain objects, arrays, Map, Set, Date, RegExp and typed arrays travel (class instances would lose their prototype)`,
    );
  }
  if (object instanceof Map) {
    for (const [key, item] of object) {
      walk(key, `${path}<key>`, seen);
      walk(item, `${path}.get(${String(key)})`, seen);
    }
  } else if (object instanceof Set) {
    for (const item of object) walk(item, `${path}<item>`, seen);
  } else if (Array.isArray(object)) {
    object.forEach((item, index) => walk(item, `${path}[${index}]`, seen));
  } else {
    for (const key of Object.keys(object)) {
      walk((object as Record<string, unknown>)[key], `${path}.${key}`, seen);
    }
  }
}

function fail(path: string, what: string): never {
  throw new StupidModalError(Code.INVALID_ARGUMENT, `${path} ${what}`);
}
