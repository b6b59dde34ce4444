/**
 * Retrying an input: another attempt after an error, a crashed executor or a timeout, with
 * exponential backoff, until the function's retries are spent; the last attempt's outcome stands.
 */
import { Code, StupidModalError } from "../wire/errors.ts";
import type { FunctionSpec } from "../wire/proto.ts";
import { type CallOutcome, failed } from "../sandbox/call_outcome.ts";
import type { PoolCall } from "../sandbox/executor_pool.ts";

/** A call that may take several attempts. */
export interface RetryingCall extends PoolCall {
  /** Attempts made so far. */
  attempts(): number;
}

/** Runs `attempt` once, and again while the outcome is worth retrying and retries remain. */
export function withRetries(spec: FunctionSpec, attempt: () => PoolCall): RetryingCall {
  // A generator's items already reached the caller: it is never run again.
  const maxRetries = spec.is_generator ? 0 : spec.max_retries ?? 0;
  if (maxRetries === 0) {
    // One attempt: its own outcome, without a loop around it.
    const only = safely(attempt);
    return { outcome: only.outcome, attempts: () => 1, credit: only.credit, cancel: only.cancel };
  }
  let delay = spec.retry_initial_delay_ms ?? 0;
  let attempts = 1;
  let current = safely(attempt);
  let cancelled = false;
  let wakeEarly: (() => void) | undefined;
  const outcome = (async (): Promise<CallOutcome> => {
    while (true) {
      const result = await current.outcome;
      if (cancelled || attempts > maxRetries || !worthRetrying(result)) return result;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wakeEarly = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (cancelled) return failed(Code.CANCELLED, "cancelled by the caller");
      delay = Math.min(delay * (spec.retry_backoff_coefficient || 1), spec.retry_max_delay_ms || Infinity);
      attempts++;
      current = safely(attempt);
    }
  })();
  return {
    outcome,
    attempts: () => attempts,
    credit: (count) => current.credit(count),
    cancel() {
      cancelled = true;
      wakeEarly?.();
      current.cancel();
    },
  };
}

/** An attempt that could not even be submitted (the server is closing, say) fails like any other. */
function safely(attempt: () => PoolCall): PoolCall {
  try {
    return attempt();
  } catch (err) {
    const error = StupidModalError.from(err);
    return { outcome: Promise.resolve(failed(error.code, error.message)), cancel() {}, credit() {} };
  }
}

/** The user's code threw, its executor crashed or ran out of memory, or the attempt timed out. */
function worthRetrying(outcome: CallOutcome): boolean {
  const failure = outcome.failure;
  if (!failure) return false;
  if (failure.code === Code.RESOURCE_EXHAUSTED) return failure.message.startsWith("out of memory");
  return failure.code === Code.UNKNOWN || failure.code === Code.INTERNAL || failure.code === Code.DEADLINE_EXCEEDED;
}
