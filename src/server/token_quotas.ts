/**
 * Per-token limits: calls in flight at once (queued or running) and unfinished spawned inputs.
 * Beyond either, a call fails at once with RESOURCE_EXHAUSTED naming the token and its limit.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { Identity } from "./auth.ts";

/** Counts each token's calls and spawned inputs. */
export class TokenQuotas {
  #calls = new Map<string, number>();
  #inputs = new Map<string, number>();

  /** Counts one call of `who` until the returned function is called. */
  enterCall(who: Identity): () => void {
    return this.#enter(this.#calls, who.name, who.maxConcurrent, 1, "calls in flight", "max_concurrent_calls");
  }

  /** Counts `count` spawned inputs of `who`; the returned function releases one. */
  enterInputs(who: Identity, count: number): () => void {
    return this.#enter(this.#inputs, who.name, who.maxQueued, count, "unfinished spawned inputs", "max_queued_inputs");
  }

  #enter(counts: Map<string, number>, name: string, limit: number, count: number, what: string, field: string) {
    const held = counts.get(name) ?? 0;
    if (limit > 0 && held + count > limit) {
      throw new StupidModalError(
        Code.RESOURCE_EXHAUSTED,
        `the token "${name}" has ${held} ${what}; its limit is ${limit} (${field}); retry when some finish`,
      );
    }
    counts.set(name, held + count);
    return () => {
      const left = (counts.get(name) ?? 1) - 1;
      if (left > 0) counts.set(name, left);
      else counts.delete(name);
    };
  }
}
