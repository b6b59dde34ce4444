/** Turning `map`'s arguments into argument tuples: one iterable per parameter, zipped. */

/** A sync or async iterable. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/** One iterable per parameter of a function taking `Args`. */
export type MapIterables<Args extends unknown[]> = { [K in keyof Args]: AnyIterable<Args[K]> };

/**
 * Options of `map`, `starmap` and `forEach`.
 *
 * @example
 * ```ts
 * for await (const y of square.map([1, 2, 3], { orderOutputs: false })) console.log(y);
 * ```
 */
export interface MapOptions {
  /** Results in input order (default), or as they finish. */
  orderOutputs?: boolean;
  /** An input's error becomes its result instead of ending the map. */
  returnExceptions?: boolean;
  /** Inputs sent but not yet answered, at most (default 1000): the map's backpressure. */
  maxOutstanding?: number;
}

/** Splits a trailing options object off `map`'s arguments. */
export function splitOptions(args: unknown[]): { iterables: AnyIterable<unknown>[]; options: MapOptions } {
  const last = args.at(-1);
  if (args.length > 0 && typeof last === "object" && last !== null && !isIterable(last)) {
    return { iterables: args.slice(0, -1) as AnyIterable<unknown>[], options: last as MapOptions };
  }
  return { iterables: args as AnyIterable<unknown>[], options: {} };
}

/** Zips iterables into argument tuples, ending with the shortest. */
export async function* zipInputs(iterables: AnyIterable<unknown>[]): AsyncGenerator<unknown[]> {
  if (iterables.length === 0) throw new TypeError("map needs one iterable per parameter of the function");
  for (const iterable of iterables) {
    if (!isIterable(iterable)) throw new TypeError(`map takes iterables, got ${Deno.inspect(iterable)}`);
  }
  if (iterables.every(isSyncIterable)) {
    // Arrays and other sync sources: no promise per input and parameter.
    const iterators = (iterables as Iterable<unknown>[]).map((iterable) => iterable[Symbol.iterator]());
    try {
      while (true) {
        const steps = iterators.map((iterator) => iterator.next());
        if (steps.some((step) => step.done)) return;
        yield steps.map((step) => step.value);
      }
    } finally {
      for (const iterator of iterators) iterator.return?.();
    }
  }
  const iterators = iterables.map(iteratorOf);
  try {
    while (true) {
      const steps = await Promise.all(iterators.map((iterator) => iterator.next()));
      if (steps.some((step) => step.done)) return;
      yield steps.map((step) => step.value);
    }
  } finally {
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
  }
}

/** Iterates tuples given as one iterable (for `starmap`). */
export async function* tupleInputs(tuples: AnyIterable<unknown[]>): AsyncGenerator<unknown[]> {
  for await (const tuple of tuples) {
    if (!Array.isArray(tuple)) {
      throw new TypeError(`starmap takes an iterable of argument arrays, got ${Deno.inspect(tuple)}`);
    }
    yield tuple;
  }
}

function isIterable(value: unknown): value is AnyIterable<unknown> {
  return typeof value === "object" && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value) ||
    typeof value === "string";
}

function isSyncIterable(value: AnyIterable<unknown>): value is Iterable<unknown> {
  return typeof value === "string" || !(Symbol.asyncIterator in value);
}

function iteratorOf(iterable: AnyIterable<unknown>): AsyncIterator<unknown> | Iterator<unknown> {
  return Symbol.asyncIterator in iterable
    ? (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    : (iterable as Iterable<unknown>)[Symbol.iterator]();
}
