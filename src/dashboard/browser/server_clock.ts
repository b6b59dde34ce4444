/** The server's time as the page estimates it, so durations and uptimes read right whatever the browser's clock says. */

/**
 * The offset between the server's clock (sent with each snapshot and tick) and the browser's.
 *
 * @example
 * ```ts
 * const clock = new ServerClock();
 * clock.sync(snapshot.now);
 * clock.now();
 * ```
 */
export class ServerClock {
  #offset = 0;

  /** Takes a time the server just sent. */
  sync(serverNow: number): void {
    this.#offset = serverNow - Date.now();
  }

  now(): number {
    return Date.now() + this.#offset;
  }
}
