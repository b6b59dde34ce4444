/**
 * Refused dashboard logins, counted per client address: after `maxFailures` in `windowMs`, that
 * address is refused without its token being looked at until the oldest of them is out of the
 * window. Tokens are too long to guess, but nobody should get unlimited tries at them.
 */

/** Refused logins an address may have in a window. */
const defaultMaxFailures = 10;
const defaultWindowMs = 60_000;
/** Addresses remembered at most; the least recently refused go first beyond it. */
const maxAddresses = 10_000;

/**
 * Counts refused logins by address.
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle();
 * if (throttle.waitMs("127.0.0.1") > 0) refuse();
 * throttle.refused("127.0.0.1");
 * ```
 */
export class LoginThrottle {
  #maxFailures: number;
  #windowMs: number;
  /** When each address's recent refusals happened, oldest first. */
  #failures = new Map<string, number[]>();

  constructor(maxFailures = defaultMaxFailures, windowMs = defaultWindowMs) {
    this.#maxFailures = maxFailures;
    this.#windowMs = windowMs;
  }

  /** How long `address` must wait before its next try is looked at; 0 when it may try now. */
  waitMs(address: string, now = Date.now()): number {
    const times = this.#recent(address, now);
    if (times.length < this.#maxFailures) return 0;
    return times[times.length - this.#maxFailures] + this.#windowMs - now;
  }

  /** `address` tried a token that was refused. */
  refused(address: string, now = Date.now()): void {
    const times = this.#recent(address, now);
    times.push(now);
    // Most recently refused last, so that the first key is the one to forget.
    this.#failures.delete(address);
    this.#failures.set(address, times);
    if (this.#failures.size > maxAddresses) this.#failures.delete(this.#failures.keys().next().value!);
  }

  /** `address` logged in: its earlier refusals are forgotten. */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }

  #recent(address: string, now: number): number[] {
    const times = this.#failures.get(address) ?? [];
    while (times.length > 0 && times[0] <= now - this.#windowMs) times.shift();
    if (times.length === 0) this.#failures.delete(address);
    return times;
  }
}
